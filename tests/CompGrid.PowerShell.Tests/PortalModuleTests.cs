using CompGrid.SampleHost.Tests;
using CompGrid.Testing;

namespace CompGrid.PowerShell.Tests;

/// <summary>The sample host, started once for the class as a real process on 127.0.0.1.</summary>
public sealed class PortalHostFixture : ConfiguredHostFixture;

/// <summary>The module in a real pwsh against a running sample host, through CompGrid.Client (bearer tokens).</summary>
[Trait("Category", "PowerShell")]
public sealed class PortalModuleTests(PortalHostFixture fixture) : IClassFixture<PortalHostFixture>
{
    private const string Env = Pwsh.Env;

    private string Connect(string token = "dev-alice-token") => $"Connect-CompGrid -Uri '{fixture.Host.BaseAddress}' -Token '{token}'; ";

    [BackendFact("PowerShell", Env)]
    public async Task SubmitWaitLog_OneLinerAgainstTheSampleHost_PrintsHi()
    {
        var r = await new Pwsh().RunAsync(Connect() + """Submit-CompGridJob -Command "echo hi" | Wait-CompGridJob | Get-CompGridJobLog""", connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("hi", r.Output.Trim());
    }

    [BackendFact("PowerShell", Env)]
    public async Task SameScript_InProcessAndThroughThePortal_GivesTheSameResult()
    {
        var r = await new Pwsh().RunAsync($$"""
            $local = Connect-CompGrid -ConfigurationFile ./compgrid.json -PassThru
            $portal = Connect-CompGrid -Uri '{{fixture.Host.BaseAddress}}' -Token dev-alice-token -PassThru
            foreach ($c in $local, $portal) {
                $j = Submit-CompGridJob -Command "echo same-code" -Connection $c | Wait-CompGridJob -Connection $c
                "$($c.Kind) user=$($c.User) state=$($j.State) log=$(Get-CompGridJobLog $j.Id -Connection $c)"
            }
            """, connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("InProcess user=" + Environment.UserName + " state=Completed log=same-code", r.Output, StringComparison.Ordinal);
        Assert.Contains("Portal user=alice state=Completed log=same-code", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task BadToken_IsAnAuthenticationErrorRecord_AndApprovalByANonAdminIsPermissionDenied()
    {
        var r = await new Pwsh().RunAsync($$"""
            try { Connect-CompGrid -Uri '{{fixture.Host.BaseAddress}}' -Token wrong } catch { "bad-token=$($_.CategoryInfo.Category)" }
            {{Connect()}}
            $big = Submit-CompGridJob -Command "echo big" -Cpus 12
            "state=$($big.State)"
            $big | Approve-CompGridJob -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
            "approve=$($e[0].CategoryInfo.Category)"
            $big | Stop-CompGridJob -Confirm:$false -PassThru | ForEach-Object { "stopped=$($_.State)" }
            """, connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("bad-token=AuthenticationError", r.Output, StringComparison.Ordinal);
        Assert.Contains("state=AwaitingApproval", r.Output, StringComparison.Ordinal);
        Assert.Contains("approve=PermissionDenied", r.Output, StringComparison.Ordinal);
        Assert.Contains("stopped=Cancelled", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task Quote_ThroughThePortal_IsPricedByTheHostsRateCard()
    {
        var r = await new Pwsh().RunAsync(Connect() + """
            $q = Get-CompGridQuote -Cpus 2 -Walltime 01:00:00
            "quote=$($q.Amount) $($q.Currency) card=$($q.Breakdown.RateCard)"
            """, connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("quote=7200 CRD card=default", r.Output, StringComparison.Ordinal);
    }
}
