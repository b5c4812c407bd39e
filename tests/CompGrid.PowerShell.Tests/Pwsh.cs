using System.Diagnostics;
using System.Text;
using CompGrid.Billing;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.PowerShell.Tests;

/// <summary>The result of one pwsh run.</summary>
public sealed record PwshResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>
/// Runs real <c>pwsh</c> scripts (from eng/backends/powershell.sh: COMPGRID_PWSH) with the module built by this
/// repository, each against its own in-process engine folder: a configuration file like the sample host's.
/// </summary>
public sealed class Pwsh
{
    public const string Env = "COMPGRID_PWSH";

    public Pwsh()
    {
        Directory = Path.Combine(Path.GetTempPath(), "cg-pwsh-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(Directory);
        ConfigurationFile = Path.Combine(Directory, "compgrid.json");
        File.WriteAllText(ConfigurationFile, """
            {
              "CompGrid": {
                "DataDirectory": "data",
                "PollInterval": "00:00:00.200",
                "Local": { "JobUserIds": "2000000-2065535" },
                "Stewardship": { "MaxCpus": 1 },
                "Billing": {
                  "RateCardName": "default",
                  "MinorUnits": { "CRD": 0 },
                  "RateCards": [ { "Name": "default", "Version": 1, "Currency": "CRD", "Rules": [ { "Name": "cpu-seconds", "CpuCoreHour": 3600 } ] } ]
                }
              }
            }
            """);
    }

    public string Directory { get; }
    public string ConfigurationFile { get; }
    public string Database => Path.Combine(Directory, "data", "compgrid.db");

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CompGrid.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("CompGrid.sln not found above " + AppContext.BaseDirectory);
        }
    }

    private static string Configuration => AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The module's manifest in the module project's build output.</summary>
    public static string Manifest => Path.Combine(RepoRoot, "src", "CompGrid.PowerShell", "bin", Configuration, "net10.0", "CompGrid.PowerShell.psd1");

    /// <summary>Runs <paramref name="script"/> after importing the module (and connecting in-process unless told not to).</summary>
    public async Task<PwshResult> RunAsync(string script, bool connect = true, TimeSpan? timeout = null)
    {
        string prelude = $"$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue'; Import-Module '{Manifest}'; "
            + (connect ? $"Connect-CompGrid -ConfigurationFile '{ConfigurationFile}'; " : "");
        var psi = new ProcessStartInfo(BackendEnvironment.Get(Env, "PowerShell"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Directory,
        };
        foreach (string a in (string[])["-NoProfile", "-NonInteractive", "-Command", prelude + script]) psi.ArgumentList.Add(a);
        psi.Environment["POWERSHELL_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["COLUMNS"] = "200";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(120));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("pwsh did not finish: " + await stdout + await stderr);
        }
        return new PwshResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Creates a grant with an allocation in the engine's ledger, as an administrator would on the portal.</summary>
    public async Task CreateGrantAsync(string code, string member, decimal allocation)
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(Database)!);
        var services = new ServiceCollection();
        services.AddCompGrid().UseSqliteBillingStore(Database).AddGrantBilling(o =>
        {
            o.MinorUnits["CRD"] = 0;
            o.RateCards.Add(new RateCard { Name = "default", Currency = "CRD", Rules = [new RateRule { Name = "cpu-seconds", CpuCoreHour = 3600 }] });
        });
        await using var provider = services.BuildServiceProvider();
        var billing = provider.GetRequiredService<GrantBillingService>();
        await billing.InitializeAsync();
        await billing.CreateGrantAsync(new Grant { Code = code, Title = "Test grant " + code, PrincipalInvestigator = member, Members = [member], Currency = "CRD" }, "test");
        await billing.AllocateAsync(code, allocation, "test", "initial allocation");
    }
}
