using CompGrid.Testing;

namespace CompGrid.PowerShell.Tests;

/// <summary>The module in a real pwsh against an engine it starts in-process from a configuration file.</summary>
[Trait("Category", "PowerShell")]
public sealed class InProcessModuleTests
{
    private const string Env = Pwsh.Env;

    [BackendFact("PowerShell", Env)]
    public async Task SubmitWaitLog_OneLiner_PrintsHi()
    {
        var r = await new Pwsh().RunAsync("""Submit-CompGridJob -Command "echo hi" | Wait-CompGridJob | Get-CompGridJobLog""");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("hi", r.Output.Trim());
    }

    [BackendFact("PowerShell", Env)]
    public async Task JobsTable_ShowsTheFormatDataColumns_AndWaitWritesTheTerminalRecord()
    {
        var r = await new Pwsh().RunAsync("""
            $j = Submit-CompGridJob -Command "echo table" -Name tabled | Wait-CompGridJob
            "state=$($j.State) exit=$($j.ExitCode) name=$($j.Spec.Name)"
            Get-CompGridJob | Format-Table | Out-String -Width 200
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("state=Completed exit=0 name=tabled", r.Output, StringComparison.Ordinal);
        Assert.Matches(@"Id\s+Name\s+Owner\s+State\s+Backend\s+Cpus\s+Exit\s+Submitted", r.Output);
        Assert.Matches(@"tabled\s+\S+\s+Completed\s+local", r.Output);
    }

    [BackendFact("PowerShell", Env)]
    public async Task WhatIf_OnSubmitAndStop_ChangesNothing()
    {
        var r = await new Pwsh().RunAsync("""
            Submit-CompGridJob -Command "echo never" -WhatIf
            "count=$(@(Get-CompGridJob).Count)"
            $j = Submit-CompGridJob -Command "echo x" -Cpus 16
            Stop-CompGridJob -Id $j.Id -WhatIf
            "state=$((Get-CompGridJob -Id $j.Id).State)"
            Get-CompGridJob -State AwaitingApproval | Stop-CompGridJob -Confirm:$false -PassThru | ForEach-Object { "stopped=$($_.State)" }
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("What if: Performing the operation \"Submit job 'job'", r.Output, StringComparison.Ordinal);
        Assert.Contains("count=0", r.Output, StringComparison.Ordinal);
        Assert.Contains("state=AwaitingApproval", r.Output, StringComparison.Ordinal);
        Assert.Contains("stopped=Cancelled", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task LargeJob_WaitsForApproval_ApprovedThroughThePipeline_Completes()
    {
        var r = await new Pwsh().RunAsync("""
                        $big = Submit-CompGridJob -Command "echo big-ran" -Cpus 2 -Name big
            "big=$($big.State)"
            Get-CompGridJob -State AwaitingApproval | Approve-CompGridJob -Reason "fine" -Confirm:$false | Out-Null
            $done = $big | Wait-CompGridJob -Timeout 00:01:00
            "done=$($done.State) by=$($done.Approval.By)"
            $big | Get-CompGridJobLog
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("big=AwaitingApproval", r.Output, StringComparison.Ordinal);
        Assert.Contains("big-ran", r.Output, StringComparison.Ordinal);
        Assert.Matches(@"done=(Completed|Failed) by=\S+", r.Output);
    }

    [BackendFact("PowerShell", Env)]
    public async Task RejectWithoutReason_IsAnInvalidArgumentNamingReason_AndTheJobStaysWaiting()
    {
        var r = await new Pwsh().RunAsync("""
            $big = Submit-CompGridJob -Command "echo no" -Cpus 12
            try { Approve-CompGridJob $big.Id -Reject -Confirm:$false } catch { "error=$($_.FullyQualifiedErrorId) category=$($_.CategoryInfo.Category) message=$($_.Exception.Message)" }
            "state=$((Get-CompGridJob $big.Id).State)"
            Approve-CompGridJob $big.Id -Reject -Reason "use the cluster" -Confirm:$false | ForEach-Object { "now=$($_.State) reason=$($_.Reason)" }
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("error=invalid,CompGrid.PowerShell.Cmdlets.ApproveCompGridJobCommand category=InvalidArgument", r.Output, StringComparison.Ordinal);
        Assert.Contains("Reason: is required with -Reject", r.Output, StringComparison.Ordinal);
        Assert.Contains("state=AwaitingApproval", r.Output, StringComparison.Ordinal);
        Assert.Contains("now=Rejected reason=", r.Output, StringComparison.Ordinal);
        Assert.Contains("use the cluster", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task Errors_AreErrorRecordsWithCodesAndCategories_AndBadInputStoresNothing()
    {
        var r = await new Pwsh().RunAsync("""
            $ErrorActionPreference = 'Continue'
            Get-CompGridJob -Id no-such-job -ErrorVariable e1 -ErrorAction SilentlyContinue
            "e1=$($e1[0].FullyQualifiedErrorId) $($e1[0].CategoryInfo.Category) target=$($e1[0].TargetObject)"
            Submit-CompGridJob -Command "echo x" -Cpus -1 -ErrorVariable e2 -ErrorAction SilentlyContinue
            "e2=$($e2[0].CategoryInfo.Category) $($e2[0].Exception.Message)"
            "count=$(@(Get-CompGridJob).Count)"
            'a','no-such-job','b' | Wait-CompGridJob -ErrorVariable e3 -ErrorAction SilentlyContinue
            "e3=$($e3.Count) $($e3[0].CategoryInfo.Category)"
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("e1=not-found,CompGrid.PowerShell.Cmdlets.GetCompGridJobCommand ObjectNotFound target=no-such-job", r.Output, StringComparison.Ordinal);
        Assert.Matches(@"e2=InvalidArgument .*[Cc]pus", r.Output);
        Assert.Contains("count=0", r.Output, StringComparison.Ordinal);
        Assert.Contains("e3=3 ObjectNotFound", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task NotConnected_IsAConnectionErrorTellingToConnect()
    {
        var r = await new Pwsh().RunAsync("""
            try { Get-CompGridJob } catch { "error=$($_.FullyQualifiedErrorId) category=$($_.CategoryInfo.Category) message=$($_.Exception.Message)" }
            """, connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("error=not-connected", r.Output, StringComparison.Ordinal);
        Assert.Contains("category=ConnectionError", r.Output, StringComparison.Ordinal);
        Assert.Contains("Connect-CompGrid", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task StopOfTheHostedPipeline_AsCtrlCDoes_EndsTheWait_JobKeepsRunning()
    {
        // [powershell]::Stop() calls StopProcessing, exactly what Ctrl+C does at the prompt.
        var r = await new Pwsh().RunAsync("""
            $c = Connect-CompGrid -ConfigurationFile ./compgrid.json -PassThru
            $j = Submit-CompGridJob -Command "sleep 60" -Connection $c
            $ps = [powershell]::Create()
            $null = $ps.AddCommand('Import-Module').AddArgument((Get-Module CompGrid.PowerShell).Path).AddStatement()
            $null = $ps.AddCommand('Wait-CompGridJob').AddParameter('Id', $j.Id).AddParameter('Connection', $c)
            $h = $ps.BeginInvoke()
            $tries = 0
            do { Start-Sleep -Milliseconds 100; $s = (Get-CompGridJob $j.Id -Connection $c).State; $tries++ } until ($s -eq 'Running' -or $tries -ge 600)
            Start-Sleep -Milliseconds 500
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            "stopped-in=$([int]$sw.Elapsed.TotalSeconds) pipeline=$($ps.InvocationStateInfo.State) completed=$($h.IsCompleted)"
            "job=$((Get-CompGridJob $j.Id -Connection $c).State)"
            Stop-CompGridJob $j.Id -Connection $c -Confirm:$false
            """, connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        // Well under the job's 60 s: the stop ended the wait, the job did not (bounded loosely for a loaded machine).
        Assert.Matches(@"stopped-in=([0-9]|[1-2][0-9]) pipeline=Stopped completed=True", r.Output);
        Assert.Contains("job=Running", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task Wait_WritesProgressRecordsWithTheJobState()
    {
        var r = await new Pwsh().RunAsync("""
            $c = Connect-CompGrid -ConfigurationFile ./compgrid.json -PassThru
            $j = Submit-CompGridJob -Command "sleep 6; echo late" -Connection $c   # outlasts importing the module in the second runspace
            $ps = [powershell]::Create()
            $null = $ps.AddCommand('Import-Module').AddArgument((Get-Module CompGrid.PowerShell).Path).AddStatement()
            $null = $ps.AddCommand('Wait-CompGridJob').AddParameter('Id', $j.Id).AddParameter('ProgressInterval', [TimeSpan]::FromMilliseconds(100)).AddParameter('Connection', $c)
            $out = $ps.Invoke()
            "final=$($out[0].State)"
            $ps.Streams.Progress | Select-Object -First 1 | ForEach-Object { "activity=$($_.Activity)" }
            "states=$(($ps.Streams.Progress | ForEach-Object { ($_.StatusDescription -split ',')[0] } | Sort-Object -Unique) -join '|')"
            "completed=$(@($ps.Streams.Progress | Where-Object RecordType -eq 'Completed').Count)"
            """, connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("final=Completed", r.Output, StringComparison.Ordinal);
        Assert.Contains("activity=Waiting for CompGrid job", r.Output, StringComparison.Ordinal);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(r.Output, @"states=[^\n]*(Queued|Running)"), r.Output);   // each record carries the job's state ("Running on local, 00:00:01")
        Assert.True(r.Output.Contains("completed=1", StringComparison.Ordinal), r.Output);
    }

    [BackendFact("PowerShell", Env)]
    public async Task ExecutableWithArgumentList_PassesArgumentsVerbatim_NotThroughAShell()
    {
        var r = await new Pwsh().RunAsync("""
            Submit-CompGridJob -Executable /bin/echo -ArgumentList 'a b', '$HOME', ';', 'c' | Wait-CompGridJob | Get-CompGridJobLog
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("a b $HOME ; c", r.Output.Trim());
    }

    [BackendFact("PowerShell", Env)]
    public async Task Billing_QuoteGrantAndStatement_ShowTheChargeOfTheJob()
    {
        var pwsh = new Pwsh();
        await pwsh.CreateGrantAsync("chem-101", Environment.UserName, 100_000m);
        var r = await pwsh.RunAsync("""
            $q = Get-CompGridQuote -Cpus 2 -Walltime 01:00:00 -Account chem-101
            "quote=$($q.Amount) $($q.Currency) affordable=$($q.Affordable)"
            $j = Submit-CompGridJob -Command "echo billed" -Account chem-101 -Walltime 00:10:00 | Wait-CompGridJob
            Get-CompGridGrant | ForEach-Object { "grant=$($_.Code) balance=$($_.Balance) held=$($_.Held)" }
            $s = Get-CompGridGrant chem-101 | Get-CompGridStatement
            "lines=$($s.Charges.Count) job=$($s.Charges[0].JobId -eq $j.Id) total=$($s.TotalCharges) closing=$($s.ClosingBalance)"
            Get-CompGridStatement chem-101 -AsCsv | Select-Object -First 1
            try { Get-CompGridStatement nope } catch { "error=$($_.FullyQualifiedErrorId) $($_.CategoryInfo.Category)" }
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("quote=7200 CRD affordable=True", r.Output, StringComparison.Ordinal);
        Assert.Contains("grant=chem-101 balance=", r.Output, StringComparison.Ordinal);
        Assert.Matches(@"lines=1 job=True total=\d+ closing=\d+", r.Output);
        Assert.Contains("error=unknown-grant,", r.Output, StringComparison.Ordinal);
        Assert.Contains("ObjectNotFound", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task Nodes_ListTheLocalBackendNode()
    {
        var r = await new Pwsh().RunAsync("""
            Get-CompGridNode | ForEach-Object { "node=$($_.Backend)/$($_.Name) cpus=$($_.Capacity.Cpus) state=$($_.State)" }
            "filtered=$(@(Get-CompGridNode -Backend nope).Count)"
            """);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"node=local/\S+ cpus=[1-9]\d* state=Up", r.Output);
        Assert.Contains("filtered=0", r.Output, StringComparison.Ordinal);
    }

    [BackendFact("PowerShell", Env)]
    public async Task Help_EveryExportedCmdlet_HasASynopsisAnExampleAndEveryParameter()
    {
        var r = await new Pwsh().RunAsync("""
            $m = Get-Module CompGrid.PowerShell
            "exported=$($m.ExportedCmdlets.Count)"
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            foreach ($c in $m.ExportedCmdlets.Values) {
                $h = Get-Help $c.Name -Full
                $documented = @($h.parameters.parameter | ForEach-Object name)
                $missing = @($c.Parameters.Keys | Where-Object { $_ -notin $common -and $_ -notin $documented })
                "help $($c.Name) synopsis=$([bool]$h.Synopsis -and $h.Synopsis -ne $c.Name) examples=$(@($h.examples.example).Count) missing=$($missing -join ',')"
            }
            """, connect: false);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("exported=12", r.Output, StringComparison.Ordinal);
        var lines = r.Output.Split('\n').Where(l => l.StartsWith("help ", StringComparison.Ordinal)).ToList();
        Assert.Equal(12, lines.Count);
        Assert.All(lines, l => Assert.Matches(@"synopsis=True examples=[1-9] missing=\s*$", l));
    }
}
