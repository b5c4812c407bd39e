using System.Diagnostics;
using CompGrid.Docker;
using CompGrid.Docker.Engine;
using CompGrid.Testing;
using Microsoft.Extensions.Logging.Abstractions;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace CompGrid.Docker.Tests;

/// <summary>
/// The two test engines started by eng/backends/docker.sh (found through COMPGRID_DOCKER_HOST_1/2), shared by every
/// test that needs real dockerd: a backend over engine 1 alone (node lab-a) and pools over both (lab-a, lab-b).
/// </summary>
public sealed class DockerEnginesFixture : IAsyncLifetime
{
    public const string HostVariable = "COMPGRID_DOCKER_HOST_1";

    private readonly List<IAsyncDisposable> _owned = [];

    public string Host1 => BackendEnvironment.Get(HostVariable, "Docker");

    public string Host2 => BackendEnvironment.Get("COMPGRID_DOCKER_HOST_2", "Docker");

    public string Image => Environment.GetEnvironmentVariable("COMPGRID_DOCKER_IMAGE") ?? "compgrid/busybox:test";

    public string Scratch { get; } = Path.Combine(Path.GetTempPath(), "compgrid-docker-tests-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>A backend over engine 1 only (node lab-a).</summary>
    public IComputeBackend Single => _single ??= Create("docker-single", TimeSpan.FromSeconds(30), Engine("lab-a", Host1));

    private IComputeBackend? _single;

    public DockerBackendOptions Options(TimeSpan engineDownAfter, params DockerEngineOptions[] engines) => new()
    {
        Engines = engines,
        DefaultImage = Image,
        StopTimeout = TimeSpan.FromSeconds(1),
        HealthCheckInterval = TimeSpan.FromMilliseconds(300),
        EngineDownAfter = engineDownAfter,
        StatsInterval = TimeSpan.FromMilliseconds(300),
        RequestTimeout = TimeSpan.FromSeconds(15),
        OutputDirectory = Path.Combine(Scratch, "outputs"),
        LogDirectory = Path.Combine(Scratch, "logs"),
    };

    public static DockerEngineOptions Engine(string name, string endpoint) => new() { Name = name, Endpoint = endpoint };

    /// <summary>Creates a backend owned (and disposed) by the fixture.</summary>
    public IComputeBackend Create(string name, TimeSpan engineDownAfter, params DockerEngineOptions[] engines)
    {
        var backend = DockerBackend.Create(name, Options(engineDownAfter, engines));
        _owned.Add((IAsyncDisposable)backend);
        return backend;
    }

    /// <summary>Creates a backend over engine 1 (node lab-a) with the test defaults changed by <paramref name="configure"/>.</summary>
    public IComputeBackend Create(string name, Action<DockerBackendOptions> configure)
    {
        var options = Options(TimeSpan.FromSeconds(30), Engine("lab-a", Host1));
        configure(options);
        var backend = DockerBackend.Create(name, options);
        _owned.Add((IAsyncDisposable)backend);
        return backend;
    }

    /// <summary>A raw Engine API client, for assertions on what the engine really holds.</summary>
    internal DockerEngineClient Client(string endpoint)
    {
        var ep = DockerEndpoint.TryParse(endpoint, false, out _)!;
        return new DockerEngineClient("test", "raw", ep, null, TimeProvider.System, TimeSpan.FromSeconds(15), "1.47");
    }

    /// <summary>Runs eng/backends/docker.sh VERB N (stop-engine, start-engine).</summary>
    public async Task ControlAsync(string verb, int engine)
    {
        string script = BackendEnvironment.Get("COMPGRID_DOCKER_CONTROL", "Docker");
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(verb);
        psi.ArgumentList.Add(engine.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Environment.GetEnvironmentVariable("COMPGRID_DOCKER_STATE") is { Length: > 0 } state) psi.Environment["COMPGRID_STATE"] = state;
        using var process = Process.Start(psi)!;
        string err = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"docker.sh {verb} {engine} failed: {err}");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var d in _owned) await d.DisposeAsync();
        try { Directory.Delete(Scratch, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<DockerEnginesFixture>
{
    public const string Name = "Docker engines";
}
