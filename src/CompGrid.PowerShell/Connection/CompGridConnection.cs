using CompGrid.Billing;

namespace CompGrid.PowerShell;

/// <summary>Where a connection's cmdlets send their calls.</summary>
public enum CompGridConnectionKind
{
    /// <summary>An engine running inside this PowerShell process, built from a configuration file.</summary>
    InProcess,

    /// <summary>A portal's HTTP API (the sample host's, or any portal that maps the same endpoints).</summary>
    Portal,
}

/// <summary>
/// What <c>Connect-CompGrid</c> returns and every other cmdlet talks to (the session's current connection unless a
/// cmdlet is given <c>-Connection</c>). An in-process connection owns its engine: <c>Disconnect-CompGrid</c> stops it.
/// </summary>
public sealed class CompGridConnection : IDisposable
{
    private readonly IAsyncDisposable? _owned;
    private readonly ICompGridBilling? _billing;
    private int _disposed;

    internal CompGridConnection(CompGridConnectionKind kind, string target, string user, ICompGridClient client, ICompGridBilling? billing, IAsyncDisposable? owned)
    {
        Kind = kind;
        Target = target;
        User = user;
        Client = client;
        _billing = billing;
        _owned = owned;
    }

    /// <summary>In-process engine or portal.</summary>
    public CompGridConnectionKind Kind { get; }

    /// <summary>The configuration file (in-process) or the portal's address.</summary>
    public string Target { get; }

    /// <summary>Who the jobs are submitted as: the local user in-process; the portal decides from the token otherwise.</summary>
    public string User { get; }

    /// <summary>Whether grants, quotes and statements are available (grant billing is configured).</summary>
    public bool HasBilling => _billing is not null;

    internal ICompGridClient Client { get; }

    internal ICompGridBilling Billing => _billing ?? throw new CompGridException(
        $"Grant billing is not configured on {Target}: add a CompGrid:Billing section with a rate card to the configuration.")
    { Code = CompGridErrorCodes.NotConnected, Operation = "billing" };

    /// <summary>Whether <c>Connect-CompGrid -PassThru</c> gave this connection to the script (which then closes it).</summary>
    internal bool HeldByScript { get; set; }

    internal bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    /// <summary>Stops the in-process engine (running local jobs are adopted at the next start); a portal connection just closes.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _owned?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} {Target} as {User}";
}

/// <summary>Grants, statements and quotes: the billing calls the cmdlets need, in-process or over HTTP.</summary>
internal interface ICompGridBilling
{
    Task<IReadOnlyList<CompGridGrant>> ListGrantsAsync(string? member, CancellationToken cancellationToken);

    Task<CompGridGrant?> GetGrantAsync(string code, CancellationToken cancellationToken);

    Task<Statement> GetStatementAsync(string code, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);

    Task<Quote> QuoteAsync(JobSpec spec, CancellationToken cancellationToken);
}
