using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CompGrid.SampleHost.Tests;

/// <summary>The sample host as a real process on 127.0.0.1, with its own data directory.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private Process? _process;

    public HostProcess(string? dataDirectory = null, params string[] extraArgs)
    {
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "cg-host-" + Guid.NewGuid().ToString("N")[..8]);
        ExtraArgs = extraArgs;
        Port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}");
    }

    public string DataDirectory { get; }
    public string[] ExtraArgs { get; }
    public int Port { get; }
    public Uri BaseAddress { get; }
    public StringWriter Output { get; } = new();

    /// <summary>What the host has printed so far (its console log).</summary>
    public string OutputText { get { lock (Output) return Output.ToString(); } }

    /// <summary>Polls the host's console log (real state, bounded) until <paramref name="text"/> appears.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!OutputText.Contains(text, StringComparison.Ordinal))
        {
            if (sw.Elapsed > timeout) return false;
            await Task.Delay(50);
        }
        return true;
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CompGrid.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("CompGrid.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string HostDirectory
    {
        get
        {
            string config = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepoRoot, "samples", "CompGrid.SampleHost", "bin", config, "net10.0");
        }
    }

    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = HostDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["CompGrid.SampleHost.dll", "--urls", BaseAddress.ToString().TrimEnd('/'), "--environment", "Development",
                     $"--CompGrid:DataDirectory={DataDirectory}", "--CompGrid:PollInterval=00:00:00.200", .. ExtraArgs])
            psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (Output) Output.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (Output) Output.WriteLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = BaseAddress };
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (_process.HasExited) throw new InvalidOperationException("The host exited: " + Output);
            try { if ((await http.GetAsync("/healthz")).IsSuccessStatusCode) return; }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("The host did not start: " + Output);
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public HttpClient Client(string? token)
    {
        var c = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>One host per test class, started once with <paramref name="args"/> as extra command-line configuration.</summary>
public abstract class ConfiguredHostFixture(params string[] args) : IAsyncLifetime
{
    public HostProcess Host { get; } = new(null, args);
    public Task InitializeAsync() => Host.StartAsync();
    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public static class HttpJson
{
    public static async Task<JsonObject> PostJobAsync(this HttpClient http, object body, HttpStatusCode expected = HttpStatusCode.Created)
    {
        var r = await http.PostAsJsonAsync("/api/jobs", body);
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"expected {expected}, got {(int)r.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    public static async Task<JsonObject> GetJobAsync(this HttpClient http, string id) =>
        JsonNode.Parse(await http.GetStringAsync($"/api/jobs/{id}"))!.AsObject();

    public static async Task<JsonObject> WaitForStateAsync(this HttpClient http, string id, Func<string, bool> until, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        JsonObject job;
        do
        {
            job = await http.GetJobAsync(id);
            if (until(job["state"]!.GetValue<string>())) return job;
            await Task.Delay(100);
        }
        while (sw.Elapsed < timeout);
        throw new TimeoutException($"job {id} stayed {job["state"]}: {job.ToJsonString()}");
    }

    public static readonly string[] Terminal = ["Completed", "Failed", "Cancelled", "TimedOut", "OutOfMemory", "NodeFailed", "Preempted", "Rejected"];
}
