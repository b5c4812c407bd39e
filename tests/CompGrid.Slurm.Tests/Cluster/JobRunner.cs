using System.Diagnostics;

namespace CompGrid.Slurm.Tests.Cluster;

/// <summary>Submits jobs straight to a backend and polls them (a real cluster: polling with a timeout is the only way).</summary>
internal static class JobRunner
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    public static JobSpec Spec(string name, JobPayload payload) => new()
    {
        Name = name,
        Owner = SlurmCluster.TestUser,
        Account = "research",
        Payload = payload,
        Resources = new() { Cpus = 1, MemoryMiB = 64 },
    };

    public static async Task<(string JobId, string SlurmJobId)> SubmitAsync(IComputeBackend backend, JobSpec spec, TimeSpan? walltime = null)
    {
        string jobId = "cg-slurm-" + Guid.NewGuid().ToString("N")[..12];
        string id = await backend.SubmitAsync(new BackendJobRequest
        {
            JobId = jobId,
            Spec = spec,
            MemoryMiBPerNode = spec.Resources.MemoryMiB,
            Walltime = walltime ?? spec.Walltime ?? TimeSpan.FromMinutes(5),
        });
        return (jobId, id);
    }

    public static async Task<BackendJobStatus> WaitAsync(IComputeBackend backend, string id, Func<JobState, bool> until, bool tolerateTransient = false)
    {
        var sw = Stopwatch.StartNew();
        BackendJobStatus? last = null;
        while (sw.Elapsed < Timeout)
        {
            try
            {
                last = await backend.GetStatusAsync(id);
                if (last is not null && until(last.State)) return last;
            }
            catch (CompGridException ex) when (tolerateTransient && ex.IsTransient)
            {
                // The cluster is restarting: keep polling.
            }
            await Task.Delay(500);
        }
        Assert.Fail($"job {id} did not reach the expected state within {Timeout}; last: {last}");
        return null!;
    }

    public static Task<BackendJobStatus> WaitTerminalAsync(IComputeBackend backend, string id, bool tolerateTransient = false) =>
        WaitAsync(backend, id, s => s.IsTerminal(), tolerateTransient);

    public static async Task<JobLogs> WaitForLogsAsync(IComputeBackend backend, string id, string text)
    {
        var sw = Stopwatch.StartNew();
        JobLogs logs;
        do
        {
            logs = await backend.GetLogsAsync(id);
            if (logs.StandardOutput.Contains(text, StringComparison.Ordinal)) return logs;
            await Task.Delay(300);
        }
        while (sw.Elapsed < TimeSpan.FromSeconds(30));
        return logs;
    }

    /// <summary>One sacct allocation line of the 22.05 cluster as a field map.</summary>
    public static Task<Dictionary<string, string>> SacctAsync(string slurmJobId, string fields) => SacctAsync(SlurmCluster.V2205, slurmJobId, fields);

    /// <summary>One sacct allocation line as a field map (root's view of the cluster's accounting).</summary>
    public static async Task<Dictionary<string, string>> SacctAsync(SlurmCluster cluster, string slurmJobId, string fields)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            string output = await cluster.RunAsync("sacct", "-n", "-P", "-X", "--noconvert", "-j", slurmJobId, "-o", fields);
            string? line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (line is not null)
            {
                var values = line.Split('|');
                var names = fields.Split(',');
                var map = names.Zip(values).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
                bool ended = !map.TryGetValue("End", out string? end) || (end.Length > 0 && end != "Unknown");
                bool complete = !map.TryGetValue("Partition", out string? partition) || partition.Length > 0; // filled in a little later
                if (ended && complete) return map;
            }
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(60), $"sacct of {cluster} has no record of {slurmJobId}");
            await Task.Delay(500);
        }
    }
}
