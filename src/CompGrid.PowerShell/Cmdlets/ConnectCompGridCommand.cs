using System.Management.Automation;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>
/// <c>Connect-CompGrid</c>: starts an engine in this process from a configuration file (<c>-ConfigurationFile</c>), or
/// connects to a portal's HTTP API (<c>-Uri</c> and <c>-Token</c>, through CompGrid.Client), and makes it the session's
/// connection; the previous connection of the session is closed unless <c>-PassThru</c> gave it to the script.
/// </summary>
[Cmdlet(VerbsCommunications.Connect, "CompGrid", DefaultParameterSetName = InProcessSet)]
[OutputType(typeof(CompGridConnection))]
public sealed class ConnectCompGridCommand : PSCmdlet
{
    private const string InProcessSet = "InProcess", PortalSet = "Portal";

    /// <summary>A JSON file laid out like the sample host's appsettings.json.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InProcessSet)]
    [ValidateNotNullOrEmpty]
    public string ConfigurationFile { get; set; } = "";

    /// <summary>Who jobs are submitted and approved as in-process; the default is the local user name.</summary>
    [Parameter(ParameterSetName = InProcessSet)]
    [ValidateNotNullOrEmpty]
    public string? User { get; set; }

    /// <summary>The portal's address (for example http://127.0.0.1:5000).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PortalSet)]
    [ValidateNotNull]
    public Uri? Uri { get; set; }

    /// <summary>The bearer token for the portal; the default is the COMPGRID_TOKEN environment variable.</summary>
    [Parameter(ParameterSetName = PortalSet)]
    public string? Token { get; set; }

    /// <summary>Writes the connection to the pipeline (for <c>-Connection</c> on other cmdlets).</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc/>
    protected override void EndProcessing()
    {
        CompGridConnection connection;
        try
        {
            if (ParameterSetName == PortalSet)
            {
                string token = Token ?? System.Environment.GetEnvironmentVariable("COMPGRID_TOKEN") ?? "";
                if (token.Length == 0) throw new JobValidationException("Token", "is required: pass -Token or set COMPGRID_TOKEN");
                connection = PortalConnector.ConnectAsync(Uri!, token, CancellationToken.None).GetAwaiter().GetResult();
            }
            else
            {
                string file = SessionState.Path.GetUnresolvedProviderPathFromPSPath(ConfigurationFile);
                connection = InProcessEngineFactory.ConnectAsync(file, User ?? System.Environment.UserName, CancellationToken.None).GetAwaiter().GetResult();
            }
        }
        catch (CompGridException ex) { ThrowTerminatingError(CompGridErrorRecords.From(ex, (object?)Uri ?? ConfigurationFile)); return; }
        catch (Microsoft.Extensions.Options.OptionsValidationException ex)
        {
            ThrowTerminatingError(CompGridErrorRecords.From(new JobValidationException("ConfigurationFile", ex.Message), ConfigurationFile));
            return;
        }
        // A connection the script holds (-PassThru) stays open when another one becomes current; one it never saw is closed.
        connection.HeldByScript = PassThru;
        if (CompGridSession.Set(connection) is { HeldByScript: false } previous) previous.Dispose();
        WriteVerbose($"Connected: {connection}");
        if (PassThru) WriteObject(connection);
    }
}

/// <summary><c>Disconnect-CompGrid</c>: closes the session's connection (an in-process engine stops).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "CompGrid")]
public sealed class DisconnectCompGridCommand : PSCmdlet
{
    /// <summary>The connection to close; the session's current one when omitted.</summary>
    [Parameter(ValueFromPipeline = true)]
    public CompGridConnection? Connection { get; set; }

    /// <inheritdoc/>
    protected override void ProcessRecord()
    {
        var c = Connection ?? CompGridSession.Current;
        if (c is null) return;
        if (ReferenceEquals(c, CompGridSession.Current)) CompGridSession.Set(null);
        c.Dispose();
    }
}
