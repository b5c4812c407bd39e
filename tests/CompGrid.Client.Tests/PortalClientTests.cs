using CompGrid.Client;

namespace CompGrid.Client.Tests;

/// <summary>The client against a real sample host on 127.0.0.1: every call, its errors as the engine's exceptions.</summary>
[Collection(PortalCollection.Name)]
[Trait("Category", "Client")]
public sealed class PortalClientTests(PortalFixture portal)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static JobSpec Echo(string text, int cpus = 1) => new() { Name = "client-test", Payload = JobPayload.Command("echo " + text), Resources = new() { Cpus = cpus } };

    [Fact]
    public async Task SubmitAsync_EchoHi_CompletesAndLogsHoldHi()
    {
        using var cts = new CancellationTokenSource(Patience);
        var handle = await portal.Alice.SubmitAsync(Echo("hi-from-client"), cts.Token);
        Assert.StartsWith("cg-", handle.Id, StringComparison.Ordinal);
        var done = await handle.WaitForCompletionAsync(cts.Token);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal("alice", done.Spec.Owner);
        Assert.Contains("hi-from-client", (await handle.GetLogsAsync(cts.Token)).StandardOutput, StringComparison.Ordinal);
        var history = await portal.Alice.GetHistoryAsync(handle.Id, cts.Token);
        Assert.Equal(JobState.Completed, history[^1].To);
    }

    [Fact]
    public async Task FollowLogsAsync_RunningJob_YieldsOutputUntilTheEnd()
    {
        using var cts = new CancellationTokenSource(Patience);
        var handle = await portal.Alice.SubmitAsync(new JobSpec { Payload = JobPayload.Command("echo first; sleep 1; echo second") }, cts.Token);
        var text = new System.Text.StringBuilder();
        await foreach (string piece in portal.Alice.FollowLogsAsync(handle.Id, cts.Token)) text.Append(piece);
        Assert.Equal("first\nsecond\n", text.ToString());
        Assert.True((await handle.GetAsync(cts.Token)).IsTerminal);
    }

    [Fact]
    public async Task SubmitAsync_InvalidCpus_ThrowsValidationNamingTheSpecField_NothingStored()
    {
        int before = await CountAsync(portal.Alice);
        var ex = await Assert.ThrowsAsync<JobValidationException>(() => portal.Alice.SubmitAsync(Echo("x") with { Resources = new() { Cpus = -1 } }));
        Assert.Contains(ex.Errors, e => e.Field == "resources.cpus");
        Assert.Equal("submit", ex.Operation);
        Assert.Equal(before, await CountAsync(portal.Alice));
    }

    [Fact]
    public async Task SubmitAsync_FieldHttpCannotCarry_RefusedNamingIt()
    {
        var ex = await Assert.ThrowsAsync<JobValidationException>(() => portal.Alice.SubmitAsync(Echo("x") with { WorkingDirectory = "/tmp" }));
        Assert.Equal("workingDirectory", Assert.Single(ex.Errors).Field);
    }

    [Fact]
    public async Task SubmitAsync_OwnerOtherThanTheToken_RefusedNamingOwner()
    {
        var ex = await Assert.ThrowsAsync<JobValidationException>(() => portal.Alice.SubmitAsync(Echo("x") with { Owner = "bob" }));
        Assert.Equal("owner", Assert.Single(ex.Errors).Field);
        var job = await portal.Alice.SubmitAsync(Echo("x") with { Owner = "alice" });   // the token's own name is fine
        Assert.Equal("alice", (await job.GetAsync()).Spec.Owner);
    }

    [Fact]
    public async Task SubmitAsync_PolicyDenied_ThrowsJobPolicyExceptionNamingTheField()
    {
        var ex = await Assert.ThrowsAsync<JobPolicyException>(() => portal.Alice.SubmitAsync(Echo("x") with { Nice = -5 }));   // users may only lower their priority
        Assert.Equal(CompGridErrorCodes.PolicyDenied, ex.Code);
        Assert.Contains(ex.Violations, v => v.Field == "nice");
    }

    [Fact]
    public async Task ApproveAsync_BigJob_WaitsThenAdminApprovesAndItCompletes_AliceMayNotApprove()
    {
        using var cts = new CancellationTokenSource(Patience);
        var handle = await portal.Alice.SubmitAsync(Echo("approved-by-client", cpus: 2), cts.Token);
        Assert.Equal(JobState.AwaitingApproval, (await handle.GetAsync(cts.Token)).State);
        await Assert.ThrowsAsync<CompGridForbiddenException>(() => portal.Alice.ApproveAsync(handle.Id, "alice", null, cts.Token));
        Assert.Null(await portal.Bob.GetJobAsync(handle.Id, cts.Token));   // someone else's job is not disclosed
        var approved = await portal.Admin.ApproveAsync(handle.Id, "ignored: the token decides", "fine", cts.Token);
        Assert.Equal("admin", approved.Approval!.By);
        Assert.Equal(JobState.Completed, (await portal.Alice.WaitForCompletionAsync(handle.Id, cts.Token)).State);
    }

    [Fact]
    public async Task RejectAsync_BigJob_EndsRejectedWithTheReason_SecondDecisionIsAConflict()
    {
        var handle = await portal.Alice.SubmitAsync(Echo("never", cpus: 4));
        await Assert.ThrowsAsync<JobValidationException>(() => portal.Admin.RejectAsync(handle.Id, "admin", " "));
        var rejected = await portal.Admin.RejectAsync(handle.Id, "admin", "use the cluster");
        Assert.Equal(JobState.Rejected, rejected.State);
        Assert.Contains("use the cluster", rejected.Reason, StringComparison.Ordinal);
        var ex = await Assert.ThrowsAsync<CompGridException>(() => portal.Admin.ApproveAsync(handle.Id, "admin"));
        Assert.Contains("409", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelAsync_QueuedForApproval_EndsCancelled_UnknownJobIsNotFound()
    {
        var handle = await portal.Alice.SubmitAsync(Echo("cancel-me", cpus: 2));
        Assert.Equal(JobState.Cancelled, (await handle.CancelAsync()).State);
        var ex = await Assert.ThrowsAsync<JobNotFoundException>(() => portal.Alice.CancelAsync("cg-does-not-exist"));
        Assert.Equal("cg-does-not-exist", ex.JobId);
        Assert.Null(await portal.Alice.GetJobAsync("cg-does-not-exist"));
    }

    [Fact]
    public async Task ListJobsAsync_Filters_ByStateAccountAndTime_NonAdminSeesOnlyOwnJobs()
    {
        var mine = await portal.Alice.SubmitAsync(Echo("listed", cpus: 2) with { Account = "alice-lab" });
        var bobs = await portal.Bob.SubmitAsync(Echo("bobs", cpus: 2));
        var waiting = await ToListAsync(portal.Alice.ListJobsAsync(new JobQuery { States = [JobState.AwaitingApproval] }));
        Assert.Contains(waiting, j => j.Id == mine.Id);
        Assert.DoesNotContain(waiting, j => j.Id == bobs.Id);
        Assert.All(waiting, j => Assert.Equal(JobState.AwaitingApproval, j.State));
        var byAccount = await ToListAsync(portal.Alice.ListJobsAsync(new JobQuery { Account = "alice-lab" }));
        Assert.Contains(byAccount, j => j.Id == mine.Id);
        Assert.All(byAccount, j => Assert.Equal("alice-lab", j.Spec.Account));
        var submittedAt = (await mine.GetAsync()).SubmittedAt;
        Assert.DoesNotContain(await ToListAsync(portal.Alice.ListJobsAsync(new JobQuery { SubmittedAfter = submittedAt.AddSeconds(1) })), j => j.Id == mine.Id);
        Assert.Contains(await ToListAsync(portal.Admin.ListJobsAsync(new JobQuery { Owner = "bob" })), j => j.Id == bobs.Id);
        await mine.CancelAsync();
        await bobs.CancelAsync();
    }

    [Fact]
    public async Task GetNodesAsync_ReturnsTheLocalNode()
    {
        var nodes = await portal.Alice.GetNodesAsync();
        var node = Assert.Single(nodes, n => n.Backend == "local");
        Assert.Equal(8, node.Capacity.Cpus);
    }

    [Fact]
    public async Task Grants_QuoteAndStatement_ComeFromTheLedger()
    {
        var grants = await portal.Alice.GetGrantsAsync();
        Assert.Contains(grants, g => g.Grant.Code == "alice-lab");
        Assert.DoesNotContain(grants, g => g.Grant.Code == "bob-lab");
        var lab = await portal.Alice.GetGrantAsync("alice-lab");
        Assert.Equal("CRD", lab!.Balance.Currency);
        Assert.Null(await portal.Alice.GetGrantAsync("bob-lab"));   // not a member: not found
        var quote = await portal.Alice.QuoteAsync(Echo("q") with { Account = "alice-lab", Walltime = TimeSpan.FromHours(1) });
        Assert.Equal(3600m, quote.Amount);   // 1 core-hour at the development rate card's 3600 CRD
        Assert.True(quote.Affordable);
        var statement = await portal.Alice.GetStatementAsync("alice-lab");
        Assert.Equal(System.Text.Json.JsonValueKind.Object, statement.ValueKind);
        Assert.StartsWith("section,at,entry", await portal.Alice.GetStatementCsvAsync("alice-lab"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SimulateAsync_TwoPolicies_ReturnsBothReports_UnknownPolicyIsRefused()
    {
        var r = await portal.Alice.SimulateAsync(new SimulationRequest { Jobs = 50, Nodes = 4, CompareWith = new SimulationRequest { Jobs = 50, Nodes = 4, Backfill = false } });
        Assert.Equal(50, r.A.JobsStarted + r.A.JobsNeverStarted);
        Assert.NotNull(r.B);
        await Assert.ThrowsAsync<JobValidationException>(() => portal.Alice.SimulateAsync(new SimulationRequest { Jobs = 0 }));
    }

    [Fact]
    public async Task WrongToken_Unauthorized_NotTransient()
    {
        using var stranger = portal.Connect("not-a-real-token");
        var ex = await Assert.ThrowsAsync<CompGridException>(() => stranger.GetNodesAsync());
        Assert.Equal(CompGridErrorCodes.Unauthorized, ex.Code);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task PortalDown_Unavailable_Transient_AfterRetries()
    {
        // A port on loopback nobody listens on (bound then released).
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        using var down = CompGridClient.Create(new CompGridClientOptions { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Token = "t", MaxRetryAttempts = 1, RetryDelay = TimeSpan.Zero });
        var ex = await Assert.ThrowsAsync<CompGridException>(() => down.GetNodesAsync());
        Assert.True(ex.IsTransient);
        Assert.Equal(CompGridErrorCodes.Unavailable, ex.Code);
        Assert.Equal("nodes", ex.Operation);
    }

    private static async Task<int> CountAsync(ICompGridClient grid) => (await ToListAsync(grid.ListJobsAsync(new JobQuery { Limit = 10_000 }))).Count;

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var i in items) list.Add(i);
        return list;
    }
}
