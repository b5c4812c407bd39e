using CompGrid.Testing;

namespace CompGrid.Docker.Tests;

/// <summary>The backend conformance suite against a real dockerd (engine 1), with payloads that run in the busybox test image.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
[NeedsBackend("Docker", DockerEnginesFixture.HostVariable)]
public sealed class DockerConformanceTests(DockerEnginesFixture fixture) : BackendConformanceTests, IAsyncLifetime
{
    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Removes the containers of ended jobs (staging and removal are the backend's CompleteAsync).</summary>
    public async Task DisposeAsync()
    {
        if (!BackendEnvironment.IsAvailable(DockerEnginesFixture.HostVariable)) return;
        var ended = new List<string>();
        await foreach (var s in Backend.ListJobsAsync())
            if (s.State.IsTerminal()) ended.Add(s.BackendJobId);
        foreach (var id in ended) await Backend.CompleteAsync(id);
    }

    protected override IComputeBackend Backend => fixture.Single;

    protected override JobPayload EchoPayload(string text) => JobPayload.Container(fixture.Image, "sh", "-c", $"echo {text}");

    protected override JobPayload ExitPayload(int code) => JobPayload.Container(fixture.Image, "sh", "-c", $"exit {code}");

    protected override JobPayload SleepPayload(int seconds) => JobPayload.Container(fixture.Image, "sleep", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
