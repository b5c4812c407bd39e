using CompGrid.EmbeddedPortal.Backends;
using CompGrid.Testing;

namespace CompGrid.EmbeddedPortal.Tests;

/// <summary>One process backend for the class, created by the non-DI factory in a fresh work directory.</summary>
public sealed class ProcessBackendFixture : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("compgrid-process-conf-").FullName;

    public ProcessBackendFixture() => Backend = ProcessBackend.Create("proc", new ProcessBackendOptions { WorkDirectory = _directory, Cpus = 4, MemoryMiB = 2048 });

    public IComputeBackend Backend { get; }

    public void Dispose()
    {
        ((IDisposable)Backend).Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>The sample's custom backend passes the suite every CompGrid backend passes, running real child processes.</summary>
[Trait("Category", "EmbeddedPortal")]
public sealed class ProcessBackendConformanceTests(ProcessBackendFixture fixture) : BackendConformanceTests, IClassFixture<ProcessBackendFixture>
{
    protected override IComputeBackend Backend => fixture.Backend;

    // The backend runs argument lists only: the suite's payloads as executables.
    protected override JobPayload EchoPayload(string text) => JobPayload.Exec("/bin/echo", text);
    protected override JobPayload ExitPayload(int code) => JobPayload.Exec("/bin/sh", "-c", "exit \"$0\"", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
    protected override JobPayload SleepPayload(int seconds) => JobPayload.Exec("/bin/sleep", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Submit_CommandLinePayload_RefusedNamingTheRule()
    {
        var request = await CreateRequestAsync(NewJobId(), BaseSpec("shell") with { Payload = JobPayload.Command("echo hi") });
        var error = await Assert.ThrowsAsync<CompGridException>(() => Backend.SubmitAsync(request));
        Assert.Contains("Exec payloads only", error.Message, StringComparison.Ordinal);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task Walltime_OnManualClock_KillsWhenTheClockPassesIt()
    {
        var clock = new ManualTimeProvider();
        using var dir = new TempDirectory();
        var backend = ProcessBackend.Create("proc", new ProcessBackendOptions { WorkDirectory = dir.Path }, timeProvider: clock);
        try
        {
            var request = await CreateRequestAsync(NewJobId(), BaseSpec("long") with { Payload = SleepPayload(300) }, TimeSpan.FromMinutes(5));
            string id = await backend.SubmitAsync(request);
            Assert.Equal(JobState.Running, (await backend.GetStatusAsync(id))!.State);
            clock.Advance(TimeSpan.FromMinutes(5));
            var status = await PortalTestHost.PollAsync<BackendJobStatus?>(() => backend.GetStatusAsync(id), s => s!.State.IsTerminal());
            Assert.Equal(JobState.TimedOut, status!.State);
        }
        finally
        {
            ((IDisposable)backend).Dispose();
        }
    }

    [Fact]
    public void Create_InvalidOptions_ThrowsNamingEachOption()
    {
        var error = Assert.Throws<CompGridException>(() => ProcessBackend.Create("proc", new ProcessBackendOptions { WorkDirectory = "relative", Cpus = 0 }));
        Assert.Contains("WorkDirectory must be an absolute path", error.Message, StringComparison.Ordinal);
        Assert.Contains("Cpus must be at least 1", error.Message, StringComparison.Ordinal);
    }
}

internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("compgrid-portal-test-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } // a killed job may still be closing files
    }
}
