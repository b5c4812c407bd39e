using System.Diagnostics;
using CompGrid.Local.Processes;
using CompGrid.Testing;

namespace CompGrid.Local.Tests.Sandbox;

/// <summary>
/// One sandboxed backend for the attack tests (root host: jobs get uids of their own from a range, cgroups, limits),
/// beside a directory standing for the portal's data (its database file) outside the job root.
/// </summary>
public sealed class SandboxFixture : IDisposable
{
    internal const string UidRange = "1500000-1500999";

    public SandboxFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "cg-sandbox-" + Guid.NewGuid().ToString("N")[..8]);
        StateDirectory = Path.Combine(Root, "local");
        // The portal's data directory as the sample host lays it out: 0700, the database file inside.
        PortalDirectory = Directory.CreateDirectory(Path.Combine(Root, "portal"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        DatabaseFile = Path.Combine(PortalDirectory, "compgrid.db");
        File.WriteAllText(DatabaseFile, "ledger: alice-lab 1000000");
        File.SetUnixFileMode(DatabaseFile, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Backend = Create(new SandboxOptions());
    }

    public string Root { get; }
    public string StateDirectory { get; }
    public string PortalDirectory { get; }
    public string DatabaseFile { get; }
    public IComputeBackend Backend { get; }

    internal LocalComputeBackend Create(SandboxOptions o, TimeProvider? time = null, Microsoft.Extensions.Logging.ILoggerFactory? logs = null) =>
        (LocalComputeBackend)LocalBackend.Create("sandbox", new LocalBackendOptions
        {
            StateDirectory = o.StateDirectory ?? StateDirectory,
            JobUserIds = o.PerJobUids ? UidRange : null,
            EnableCgroups = o.Cgroups,
            MaxProcesses = 64,
            KillGracePeriod = o.Grace ?? TimeSpan.FromMilliseconds(300),
            SampleInterval = TimeSpan.FromMilliseconds(100),
            Nodes = [new LocalNodeOptions { Name = "n1", Cpus = 4, MemoryMiB = 4096 }],
        }, logs, time);

    public void Dispose()
    {
        (Backend as IDisposable)?.Dispose();
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}

/// <summary>What differs between the sandbox tests' backends.</summary>
public sealed record SandboxOptions(bool Cgroups = true, bool PerJobUids = true, string? StateDirectory = null, TimeSpan? Grace = null);

/// <summary>Submit, wait and poll helpers; every wait is a bounded poll of real state, never a sleep to make progress.</summary>
internal static class Jobs
{
    internal static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    internal static async Task<string> SubmitAsync(IComputeBackend backend, string command, string owner = "bob", string? account = "bob-lab",
        long memoryMiB = 256, TimeSpan? walltime = null, int cpus = 1)
    {
        string id = "cg-sb-" + Guid.NewGuid().ToString("N")[..12];
        var spec = new JobSpec { Name = "attack", Owner = owner, Account = account, Payload = JobPayload.Command(command), Resources = new() { Cpus = cpus, MemoryMiB = memoryMiB } };
        return await backend.SubmitAsync(new BackendJobRequest { JobId = id, Spec = spec, Nodes = ["n1"], MemoryMiBPerNode = memoryMiB, Walltime = walltime ?? TimeSpan.FromMinutes(5) });
    }

    internal static async Task<BackendJobStatus> WaitAsync(IComputeBackend backend, string id, Func<JobState, bool> until)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < Limit)
        {
            var s = await backend.GetStatusAsync(id);
            if (s is not null && until(s.State)) return s;
            await Task.Delay(25);
        }
        throw new TimeoutException($"job {id} did not reach the state; last {(await backend.GetStatusAsync(id))?.State}");
    }

    internal static Task<BackendJobStatus> WaitTerminalAsync(IComputeBackend backend, string id) => WaitAsync(backend, id, s => s.IsTerminal());

    /// <summary>Waits for a file the job writes (its "I got this far" signal), and returns its text.</summary>
    internal static async Task<string> WaitForFileAsync(string path)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < Limit)
        {
            if (File.Exists(path) && File.ReadAllText(path) is { Length: > 0 } text && text.EndsWith('\n')) return text.Trim();
            await Task.Delay(25);
        }
        throw new TimeoutException($"{path} was not written");
    }

    /// <summary>Polls until <paramref name="pid"/> has exited (gone or a zombie); false if it still runs at the limit.</summary>
    internal static async Task<bool> WaitGoneAsync(int pid)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < Limit)
        {
            if (ProcFs.Read(pid) is not { } s || s.State is 'Z' or 'X') return true;
            await Task.Delay(25);
        }
        return false;
    }

    internal static string WorkDir(string stateDirectory, string id) => Path.Combine(stateDirectory, "jobs", id, "work");
}
