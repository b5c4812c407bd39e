using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CompGrid.Docker.Jobs;
using CompGrid.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Docker.Tests;

/// <summary>
/// A hand-written fake Docker engine (containers in memory) served over loopback HTTP by <see cref="LoopbackEngine"/>,
/// that can be switched off, so the backend's time-driven behaviour (walltime, engine-down grace period) runs on a
/// manual clock while the backend talks to it through Docker.DotNet as to a real engine.
/// </summary>
internal sealed class FakeEngine(ManualTimeProvider time) : IAsyncDisposable
{
    private LoopbackEngine? _server;

    /// <summary>Where the fake listens (<c>http://127.0.0.1:port</c>), once started.</summary>
    public string Endpoint => _server!.Endpoint;

    public async Task StartAsync() => _server = await LoopbackEngine.StartAsync(SendAsync);

    public ValueTask DisposeAsync() => _server?.DisposeAsync() ?? ValueTask.CompletedTask;

    public sealed class Container
    {
        public string Id { get; init; } = "";
        public string Status { get; set; } = "created";
        public int ExitCode { get; set; }
        public DateTimeOffset? StartedAt { get; set; }
        public DateTimeOffset? FinishedAt { get; set; }
        public JsonElement Labels { get; init; }
    }

    public ConcurrentDictionary<string, Container> Containers { get; } = new();
    public ConcurrentQueue<string> Calls { get; } = new();
    /// <summary>While true the engine aborts every connection (dockerd is down).</summary>
    public bool Down { get => _server!.Down; set => _server!.Down = value; }
    private int _next;

    private static HttpResponseMessage Json(HttpStatusCode status, string body) => new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private static string Time(DateTimeOffset? t) => t is { } v ? v.ToString("O", System.Globalization.CultureInfo.InvariantCulture) : "0001-01-01T00:00:00Z";

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        var cancellationToken = CancellationToken.None;
        string path = request.RequestUri!.AbsolutePath;
        string method = request.Method.Method;
        Calls.Enqueue(method + " " + path);
        if (path == "/_ping") { var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("OK") }; r.Headers.Add("Api-Version", "1.41"); return r; }
        if (path == "/version") return Json(HttpStatusCode.OK, "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}");
        path = path["/v1.41".Length..];
        if (path == "/info") return Json(HttpStatusCode.OK, "{\"NCPU\":4,\"MemTotal\":8589934592,\"ServerVersion\":\"fake\"}");
        if (path.StartsWith("/images/", StringComparison.Ordinal)) return Json(HttpStatusCode.OK, "{\"Id\":\"sha256:fake\"}");
        if (path == "/containers/json")
            return Json(HttpStatusCode.OK, "[" + string.Join(',', Containers.Values.Select(c => $"{{\"Id\":\"{c.Id}\",\"State\":\"{c.Status}\",\"Labels\":{c.Labels.GetRawText()}}}")) + "]");
        if (path == "/containers/create")
        {
            using var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            string id = "fake" + Interlocked.Increment(ref _next).ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
            Containers[id] = new Container { Id = id, Labels = body.RootElement.GetProperty("Labels").Clone() };
            return Json(HttpStatusCode.Created, $"{{\"Id\":\"{id}\",\"Warnings\":[]}}");
        }
        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries); // containers, id, action
        if (parts.Length < 2 || !Containers.TryGetValue(parts[1], out var c)) return Json(HttpStatusCode.NotFound, "{\"message\":\"No such container\"}");
        string action = parts.Length > 2 ? parts[2] : "";
        switch (method, action)
        {
            case ("PUT", "archive"):
                return new HttpResponseMessage(HttpStatusCode.OK);
            case ("POST", "start"):
                c.Status = "running";
                c.StartedAt = time.GetUtcNow();
                return new HttpResponseMessage(HttpStatusCode.NoContent);
            case ("POST", "stop"):
            case ("POST", "kill"):
                if (c.Status != "running") return new HttpResponseMessage(action == "stop" ? HttpStatusCode.NotModified : HttpStatusCode.Conflict);
                c.Status = "exited";
                c.ExitCode = action == "stop" ? 143 : 137;
                c.FinishedAt = time.GetUtcNow();
                return new HttpResponseMessage(HttpStatusCode.NoContent);
            case ("DELETE", ""):
                Containers.TryRemove(c.Id, out _);
                return new HttpResponseMessage(HttpStatusCode.NoContent);
            case ("GET", "json"):
                return Json(HttpStatusCode.OK, $"{{\"Id\":\"{c.Id}\",\"State\":{{\"Status\":\"{c.Status}\",\"Running\":{(c.Status == "running" ? "true" : "false")},\"ExitCode\":{c.ExitCode},\"StartedAt\":\"{Time(c.StartedAt)}\",\"FinishedAt\":\"{Time(c.FinishedAt)}\"}},\"Config\":{{\"Labels\":{c.Labels.GetRawText()}}}}}");
            case ("GET", "logs"):
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent([]) };
            case ("GET", "stats"):
                return Json(HttpStatusCode.OK, "{\"cpu_stats\":{\"cpu_usage\":{\"total_usage\":2500000000}},\"memory_stats\":{\"usage\":1000,\"max_usage\":7340032}}");
            default:
                return Json(HttpStatusCode.NotFound, "{\"message\":\"not faked\"}");
        }
    }

    /// <summary>Ends a running container by itself (the job's process exited).</summary>
    public void Exit(string id, int code)
    {
        var c = Containers[id];
        c.Status = "exited";
        c.ExitCode = code;
        c.FinishedAt = time.GetUtcNow();
    }
}

[Trait("Category", "Docker")]
public sealed class FakeEngineTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly string _scratch = Path.Combine(Path.GetTempPath(), "cg-fake-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly Dictionary<string, FakeEngine> _engines = [];
    private DockerComputeBackend _backend = null!;

    public async Task InitializeAsync()
    {
        _engines["lab-a"] = new FakeEngine(_time);
        _engines["lab-b"] = new FakeEngine(_time);
        foreach (var engine in _engines.Values) await engine.StartAsync();
        var options = new DockerBackendOptions
        {
            Engines = [new DockerEngineOptions { Name = "lab-a", Endpoint = _engines["lab-a"].Endpoint }, new DockerEngineOptions { Name = "lab-b", Endpoint = _engines["lab-b"].Endpoint }],
            // Calls go over real loopback HTTP while the manual clock is driven: no call may time out on it.
            RequestTimeout = TimeSpan.FromDays(1),
            HealthCheckTimeout = TimeSpan.FromDays(1),
            EngineDownAfter = TimeSpan.FromSeconds(30),
            HealthCheckInterval = TimeSpan.FromSeconds(5),
            StatsInterval = TimeSpan.FromSeconds(10),
            StopTimeout = TimeSpan.FromSeconds(2),
            LogDirectory = Path.Combine(_scratch, "logs"),
            OutputDirectory = Path.Combine(_scratch, "out"),
        };
        _backend = new DockerComputeBackend("lab", options, _time, NullLogger.Instance);
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        foreach (var engine in _engines.Values) await engine.DisposeAsync();
        try { Directory.Delete(_scratch, true); } catch (DirectoryNotFoundException) { }
    }

    /// <summary>Advances the manual clock in small steps until <paramref name="task"/> completes (retry back-offs wait on it).</summary>
    private async Task<T> Drive<T>(Task<T> task)
    {
        for (int i = 0; i < 10_000 && !task.IsCompleted; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(1); // let the loopback round trip the clock is waiting for happen
        }
        return await task;
    }

    /// <summary>Waits (bounded) for work the manual clock already triggered to finish on the thread pool.</summary>
    private static async Task Settle(Func<bool> condition)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && sw.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(5);
        Assert.True(condition(), "condition not reached");
    }

    private static BackendJobRequest Request(string node, TimeSpan walltime) => new()
    {
        JobId = "cg-fake-" + Guid.NewGuid().ToString("N")[..8],
        Spec = new JobSpec { Name = "f", Owner = "dana", Payload = JobPayload.Container("img", "run"), Resources = new() { Cpus = 2, MemoryMiB = 128 } },
        Nodes = [node],
        MemoryMiBPerNode = 128,
        Walltime = walltime,
    };

    [Fact]
    public async Task Walltime_ManualClock_StopsContainerAndEndsTimedOut()
    {
        string id = await _backend.SubmitAsync(Request("lab-a", TimeSpan.FromMinutes(10)));
        string container = id.Split('/')[1];
        Assert.True(_engines["lab-a"].Containers[container].Labels.TryGetProperty("compgrid.cpuset", out var cpuset));
        Assert.Equal("0,1", cpuset.GetString()); // 2 of the engine's 4 cores, least loaded first
        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(JobState.Running, (await _backend.GetStatusAsync(id))!.State);
        _time.Advance(TimeSpan.FromMinutes(2));
        await Settle(() => _engines["lab-a"].Containers[container].Status == "exited");
        var status = await _backend.GetStatusAsync(id);
        Assert.Equal(JobState.TimedOut, status!.State);
        Assert.Contains("walltime", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SelfExitBeforeWalltime_NotTimedOut_AndUsageFromStats()
    {
        string id = await _backend.SubmitAsync(Request("lab-b", TimeSpan.FromMinutes(10)));
        await _backend.SampleAllAsync(); // what the sampler does every StatsInterval
        Assert.True(_backend.SamplesTaken > 0, "no stats sample was taken");
        _engines["lab-b"].Exit(id.Split('/')[1], 0);
        _time.Advance(TimeSpan.FromMinutes(20));
        var status = await _backend.GetStatusAsync(id);
        Assert.True(JobState.Completed == status!.State, status.ToString());
        var usage = await _backend.GetUsageAsync(id);
        Assert.Equal(TimeSpan.FromSeconds(2.5), usage!.CpuTime);
        Assert.Equal(7340032, usage.PeakMemoryBytes);
        Assert.Equal(2, usage.AllocatedCpus);
        Assert.Equal(128, usage.AllocatedMemoryMiB);
        Assert.Equal(["lab-b"], usage.Nodes);
    }

    [Fact]
    public async Task EngineUnreachable_RunningDuringGrace_ThenNodeFailed_OtherEngineUnaffected_KilledWhenBack()
    {
        string onA = await _backend.SubmitAsync(Request("lab-a", TimeSpan.FromHours(1)));
        string onB = await _backend.SubmitAsync(Request("lab-b", TimeSpan.FromHours(1)));
        _engines["lab-b"].Down = true;

        var during = await Drive(_backend.GetStatusAsync(onB));
        Assert.Equal(JobState.Running, during!.State);
        Assert.Contains("unreachable", during.Reason, StringComparison.Ordinal);
        var nodes = await Drive(_backend.GetNodesAsync());
        Assert.Equal(NodeState.Down, nodes.Single(n => n.Name == "lab-b").State);
        Assert.Equal(NodeState.Up, nodes.Single(n => n.Name == "lab-a").State);

        _time.Advance(TimeSpan.FromSeconds(31));
        var failed = await Drive(_backend.GetStatusAsync(onB));
        Assert.Equal(JobState.NodeFailed, failed!.State);
        Assert.Contains("lab-b", failed.Reason, StringComparison.Ordinal);
        Assert.Contains("unreachable since", failed.Reason, StringComparison.Ordinal);
        Assert.Equal(JobState.Running, (await _backend.GetStatusAsync(onA))!.State);
        await Drive(_backend.CompleteAsync(onB).ContinueWith(_ => true, TaskScheduler.Default)); // deferred, not an error

        _engines["lab-b"].Down = false;
        await Drive(_backend.GetNodesAsync());
        await Settle(() => !_engines["lab-b"].Containers.ContainsKey(onB.Split('/')[1]));
        Assert.Equal(JobState.NodeFailed, (await _backend.GetStatusAsync(onB))!.State);
        Assert.Contains(_engines["lab-b"].Calls, c => c.EndsWith("/kill", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancel_ThenGone_StatusStaysCancelled()
    {
        string id = await _backend.SubmitAsync(Request("lab-a", TimeSpan.FromHours(1)));
        await _backend.CancelAsync(id);
        Assert.Equal(JobState.Cancelled, (await _backend.GetStatusAsync(id))!.State);
        await _backend.CompleteAsync(id);
        Assert.Empty(_engines["lab-a"].Containers);
        Assert.Equal(JobState.Cancelled, (await _backend.GetStatusAsync(id))!.State);
        await _backend.CancelAsync(id); // no effect on an ended job
    }

    [Fact]
    public async Task Completed_AfterRetention_ForgottenFromMemory_LogsStillReadable()
    {
        string id = await _backend.SubmitAsync(Request("lab-a", TimeSpan.FromHours(1)));
        _engines["lab-a"].Exit(id.Split('/')[1], 0);
        Assert.Equal(JobState.Completed, (await _backend.GetStatusAsync(id))!.State);
        await _backend.CompleteAsync(id);
        Assert.Equal(JobState.Completed, (await _backend.GetStatusAsync(id))!.State); // kept for a while
        _time.Advance(TimeSpan.FromMinutes(61));
        await _backend.GetNodesAsync(); // every scheduling cycle asks for nodes, which also sweeps old entries
        Assert.Null(await _backend.GetStatusAsync(id));
        Assert.Equal("", (await _backend.GetLogsAsync(id)).StandardOutput); // from the kept log files
    }
}
