using System.Diagnostics;
using System.Net.Http.Headers;
using CompGrid.Local;
using CompGrid.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Sessions.Tests;

/// <summary>
/// Real notebook servers (Debian's jupyter-notebook, COMPGRID_JUPYTER from eng/backends/jupyter.sh) run as Local jobs by
/// an in-process engine on the system clock; the session manager's own clock is manual, so the idle limit passes
/// when the test says so.
/// </summary>
[Trait("Category", "Jupyter")]
public sealed class JupyterSessionsTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine("/var/tmp", "cg-sessions-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private CompGridEngine _engine = null!;
    private JupyterSessions _sessions = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(_root, (UnixFileMode)0b111_101_101);   // jobs run as other accounts
        _engine = CompGridEngine.Create(b =>
        {
            b.Services.AddSingleton<IJobStore>(new InMemoryJobStore());
            b.AddLocalBackend("local", o =>
            {
                o.StateDirectory = Path.Combine(_root, "local");
                o.Nodes = [new LocalNodeOptions { Name = "local", Cpus = 4, MemoryMiB = 4096 }];
            });
            b.Configure(o => { o.PollInterval = TimeSpan.FromMilliseconds(200); o.DefaultBackend = "local"; });
        });
        await _engine.StartAsync();
        _sessions = JupyterSessions.Create(_engine, new JupyterSessionOptions
        {
            JupyterPath = BackendEnvironment.IsAvailable("COMPGRID_JUPYTER") ? BackendEnvironment.Get("COMPGRID_JUPYTER", "Jupyter") : "/usr/bin/jupyter-notebook",
            IdleLimit = TimeSpan.FromMinutes(10),
        }, timeProvider: _clock);
    }

    public async Task DisposeAsync()
    {
        foreach (var s in _sessions.List()) await _sessions.CloseAsync(s.Id);
        _sessions.Dispose();
        await _engine.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    // Polls the real server (bounded) through the manager until the session is Ready.
    private async Task<JupyterSession> ReadyAsync(string id)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            await _sessions.CheckAsync();
            var s = _sessions.Get(id)!;
            if (s.State == SessionState.Ready) return s;
            Assert.True(s.State != SessionState.Ended, $"session ended: {s.EndReason}; logs: {(await _engine.GetLogsAsync(s.JobId)).StandardError}");
            await Task.Delay(200);
        }
        throw new TimeoutException("the notebook server did not answer");
    }

    private static HttpClient Upstream(JupyterSession s)
    {
        var http = new HttpClient { BaseAddress = s.Upstream, Timeout = TimeSpan.FromSeconds(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", s.Token);
        return http;
    }

    [BackendFact("Jupyter", "COMPGRID_JUPYTER")]
    public async Task IdleLimit_PassesOnTheManualClock_SessionEndsAndItsJobIsCancelledAndWorkspaceRemoved()
    {
        var opened = await _sessions.OpenAsync("alice");
        Assert.Equal(SessionState.Starting, opened.State);
        var s = await ReadyAsync(opened.Id);
        Assert.Equal($"/sessions/{s.Id}/tree", s.Url);
        Assert.Equal("127.0.0.1", s.Upstream!.Host);

        // The token is required: without it the server refuses (403), with it /api answers.
        using (var anonymous = new HttpClient { BaseAddress = s.Upstream })
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await anonymous.GetAsync($"{s.BasePath.TrimStart('/')}api/status")).StatusCode);
        using var http = Upstream(s);
        Assert.Contains("version", await http.GetStringAsync($"{s.BasePath.TrimStart('/')}api"), StringComparison.Ordinal);

        // Untouched for less than the limit: still open.
        _clock.Advance(TimeSpan.FromMinutes(9));
        await _sessions.CheckAsync();
        Assert.Equal(SessionState.Ready, _sessions.Get(s.Id)!.State);

        // A running kernel keeps it open past the limit.
        var kernel = await http.PostAsync($"{s.BasePath.TrimStart('/')}api/kernels", new StringContent("{}"));
        Assert.True(kernel.IsSuccessStatusCode, await kernel.Content.ReadAsStringAsync());
        string kernelId = System.Text.Json.Nodes.JsonNode.Parse(await kernel.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
        _clock.Advance(TimeSpan.FromMinutes(2));
        await _sessions.CheckAsync();
        Assert.Equal(SessionState.Ready, _sessions.Get(s.Id)!.State);
        Assert.Equal(JobState.Running, (await _engine.GetJobAsync(s.JobId))!.State);

        // Kernel gone, last activity (the server's clock) more than the limit behind the manager's clock: ended, its job
        // cancelled, its working directory gone.
        Assert.True((await http.DeleteAsync($"{s.BasePath.TrimStart('/')}api/kernels/{kernelId}")).IsSuccessStatusCode);
        await _sessions.CheckAsync();
        Assert.Equal("idle", _sessions.Get(s.Id)!.EndReason);
        var job = await _engine.WaitForCompletionAsync(s.JobId).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(JobState.Cancelled, job.State);
        await _sessions.CheckAsync();
        Assert.Equal(SessionState.Ended, _sessions.Get(s.Id)!.State);
        Assert.False(Directory.Exists(Path.Combine(_root, "local", "jobs", s.JobId)));
        Assert.NotNull(await _engine.GetUsageAsync(s.JobId));   // accounted like any job
    }

    [Fact]
    public void Create_InvalidOptions_ThrowsNamingEachSetting()
    {
        var ex = Assert.Throws<ArgumentException>(() => JupyterSessions.Create(_engine, new JupyterSessionOptions { JupyterPath = "jupyter", IdleLimit = TimeSpan.Zero, PathPrefix = "/s/" }));
        Assert.Contains("JupyterPath", ex.Message, StringComparison.Ordinal);
        Assert.Contains("IdleLimit", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PathPrefix", ex.Message, StringComparison.Ordinal);
    }
}
