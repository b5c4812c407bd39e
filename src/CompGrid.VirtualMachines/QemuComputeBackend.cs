using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CompGrid.VirtualMachines.Diagnostics;
using CompGrid.VirtualMachines.GuestAgent;
using CompGrid.VirtualMachines.Qemu;
using Microsoft.Extensions.Logging;

namespace CompGrid.VirtualMachines;

/// <summary>
/// A backend whose nodes are QEMU VMs. CompGrid's placement core picks the VM; the job runs inside it through the guest
/// agent, in a working directory of its own that is removed when the job completes. Also the <see cref="INodeProvider"/>
/// the power manager starts and stops the VMs with.
/// </summary>
internal sealed class QemuComputeBackend : IComputeBackend, INodeProvider, IVirtualMachineControl, IAsyncDisposable
{
    private const string GuestPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    private readonly QemuBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, QemuVm> _vms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GuestJob> _jobs = new(StringComparer.Ordinal);

    public QemuComputeBackend(string name, QemuBackendOptions options, TimeProvider time, ILogger logger)
    {
        Name = name;
        _options = options;
        _time = time;
        _logger = logger;
        foreach (var node in options.Nodes)
        {
            var template = options.Templates.First(t => t.Name == node.Template);
            var vm = new QemuVm(name, node, template, options, time, logger);
            vm.Exited += OnVmExited;
            _vms.Add(node.Name, vm);
        }
        Capabilities = new BackendCapabilities
        {
            PlacesJobsItself = false,
            Gpus = options.Templates.Any(t => t.GpuPassthrough),
            Payloads = [PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable],
        };
    }

    public string Name { get; }

    string INodeProvider.Backend => Name;

    public BackendCapabilities Capabilities { get; }

    // --- Nodes and power ------------------------------------------------------------------------------------------

    public Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        var nodes = new List<NodeInfo>(_vms.Count);
        foreach (var vm in _vms.Values)
        {
            var t = vm.Template;
            var capacity = new NodeResources(t.Cpus, t.MemoryMiB, t.GpuPassthrough ? t.GpuHostAddresses.Count : 0);
            bool busy = _jobs.Values.Any(j => j.Node == vm.Node.Name && !j.State.IsTerminal());
            nodes.Add(new NodeInfo
            {
                Name = vm.Node.Name,
                Backend = Name,
                Capacity = capacity,
                // A VM runs one job at a time: its vCPUs and memory are the job's (like an exclusive node).
                Free = busy || vm.Power != VmPower.Up ? default : capacity,
                Features = [.. vm.Node.Features],
                Partitions = [.. vm.Node.Partitions],
                GpuModel = t.GpuModel,
                State = vm.Power switch
                {
                    VmPower.Up => NodeState.Up,
                    VmPower.Failed => NodeState.Down,
                    _ => NodeState.PoweredOff,
                },
                NativeState = vm.Power.ToString().ToLowerInvariant(),
                Reason = vm.Power == VmPower.Failed ? vm.FailureReason : null,
            });
        }
        return Task.FromResult<IReadOnlyList<NodeInfo>>(nodes);
    }

    public Task StartNodeAsync(string node, CancellationToken cancellationToken = default) => Vm(node).StartAsync(cancellationToken);

    public Task StopNodeAsync(string node, CancellationToken cancellationToken = default) => Vm(node).StopAsync(cancellationToken);

    public async Task<string> GetRunStateAsync(string node, CancellationToken cancellationToken = default) =>
        await Vm(node).Qmp.QueryStatusAsync(cancellationToken).ConfigureAwait(false);

    public async Task PauseAsync(string node, CancellationToken cancellationToken = default) =>
        await Vm(node).Qmp.ExecuteAsync("stop", null, cancellationToken).ConfigureAwait(false);

    public async Task ResumeAsync(string node, CancellationToken cancellationToken = default) =>
        await Vm(node).Qmp.ExecuteAsync("cont", null, cancellationToken).ConfigureAwait(false);

    public IReadOnlyList<string> GetEvents(string node) => [.. Vm(node).Events.Select(e => e.Name)];

    private QemuVm Vm(string node) =>
        _vms.TryGetValue(node, out var vm) ? vm
        : throw new CompGridException($"QEMU backend '{Name}' has no node '{node}'.") { Backend = Name, Code = CompGridErrorCodes.NotFound };

    private void OnVmExited(QemuVm vm)
    {
        foreach (var job in _jobs.Values.Where(j => j.Node == vm.Node.Name && !j.State.IsTerminal()))
        {
            job.State = JobState.NodeFailed;
            job.Reason = $"VM '{vm.Node.Name}' stopped while the job ran.";
            job.EndedAt = _time.GetUtcNow();
            Log.JobLostNode(_logger, job.JobId, vm.Node.Name);
        }
    }

    // --- Jobs -----------------------------------------------------------------------------------------------------

    public async Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Nodes.Count != 1)
            throw new JobValidationException("Constraints.Backend", $"QEMU backend '{Name}' runs a job on exactly one VM; {request.Nodes.Count} were chosen.");
        if (request.JobId.Length == 0 || request.JobId.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            throw new JobValidationException("JobId", "must be letters, digits, '-' or '_' (it names the job's folder in the VM).");
        var vm = Vm(request.Nodes[0]);
        var agent = vm.Agent;
        var payload = request.Spec.Payload ?? throw new JobValidationException("Payload", "is required.");
        string dir = _options.GuestWorkRoot.TrimEnd('/') + "/" + request.JobId;

        var mkdir = await agent.RunAsync("/bin/mkdir", ["-p", dir], _time, cancellationToken).ConfigureAwait(false);
        if (mkdir.ExitCode != 0) throw Failure($"creating {dir} in VM '{vm.Node.Name}' failed: {mkdir.StandardError.Trim()}", request.JobId);

        (string program, IReadOnlyList<string> args) = payload.Kind switch
        {
            PayloadKind.CommandLine => ("/bin/sh", ["-c", payload.CommandLine ?? ""]),
            PayloadKind.Executable => (payload.Executable!, payload.Arguments),
            PayloadKind.Script => (payload.Interpreter ?? "/bin/sh", [dir + "/.compgrid-job-script"]),
            _ => throw new JobValidationException("Payload.Kind", $"QEMU backend '{Name}' does not run {payload.Kind} payloads."),
        };
        if (payload.Kind == PayloadKind.Script)
            await agent.WriteFileAsync(dir + "/.compgrid-job-script", Encoding.UTF8.GetBytes(payload.Script ?? ""), cancellationToken).ConfigureAwait(false);

        // The agent has no working-directory parameter: a fixed two-word shell program changes into the folder and execs
        // the job's argument list unchanged ("$@"); nothing of the job is ever pasted into shell text.
        var argv = new List<string> { "-c", "cd \"$1\" && shift && exec \"$@\"", "compgrid-job", dir, program };
        argv.AddRange(args);
        var env = new List<string> { GuestPath, "HOME=" + dir, "COMPGRID_JOB_ID=" + request.JobId };
        env.AddRange(request.Spec.Environment.Select(kv => kv.Key + "=" + kv.Value));

        long pid = await agent.ExecAsync("/bin/sh", argv, env, cancellationToken).ConfigureAwait(false);
        var job = new GuestJob
        {
            JobId = request.JobId,
            BackendJobId = vm.Node.Name + "/" + pid.ToString(CultureInfo.InvariantCulture),
            Node = vm.Node.Name,
            Pid = pid,
            WorkingDirectory = dir,
            StartedAt = _time.GetUtcNow(),
            Walltime = request.Walltime,
        };
        _jobs[job.BackendJobId] = job;
        Log.JobStarted(_logger, job.JobId, job.Node, pid);
        return job.BackendJobId;
    }

    public async Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryGetValue(backendJobId, out var job)) return null;
        if (job.State.IsTerminal()) return job.ToStatus();
        var vm = Vm(job.Node);
        var status = await vm.Agent.ExecStatusAsync(job.Pid, cancellationToken).ConfigureAwait(false);
        if (status.Exited)
        {
            job.ExitCode = status.ExitCode;
            job.Signal = status.Signal;
            job.EndedAt ??= _time.GetUtcNow();
            job.Logs = new JobLogs { StandardOutput = status.StandardOutput, StandardError = status.StandardError, Truncated = status.Truncated };
            if (job.State == JobState.Running) job.State = status.ExitCode == 0 ? JobState.Completed : JobState.Failed;
        }
        else if (job.Walltime > TimeSpan.Zero && _time.GetUtcNow() - job.StartedAt > job.Walltime)
        {
            job.State = JobState.TimedOut;
            job.Reason = $"walltime {job.Walltime} exceeded";
            await KillAsync(vm, job, cancellationToken).ConfigureAwait(false);
            return await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false);
        }
        return job.ToStatus();
    }

    public async Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryGetValue(backendJobId, out var job)) throw new JobNotFoundException(backendJobId) { Backend = Name };
        if (job.State.IsTerminal()) return;
        job.State = JobState.Cancelled;
        job.Reason = "cancelled";
        await KillAsync(Vm(job.Node), job, cancellationToken).ConfigureAwait(false);
    }

    private async Task KillAsync(QemuVm vm, GuestJob job, CancellationToken cancellationToken)
    {
        await vm.Agent.RunAsync("/bin/kill", ["-KILL", job.Pid.ToString(CultureInfo.InvariantCulture)], _time, cancellationToken).ConfigureAwait(false);
        // Collect the exit so the agent forgets the process and its output is kept.
        var status = await vm.Agent.ExecStatusAsync(job.Pid, cancellationToken).ConfigureAwait(false);
        job.Signal = status.Signal ?? 9;
        job.EndedAt ??= _time.GetUtcNow();
        job.Logs = new JobLogs { StandardOutput = status.StandardOutput, StandardError = status.StandardError, Truncated = status.Truncated };
    }

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var id in _jobs.Keys.ToList())
            if (await GetStatusAsync(id, cancellationToken).ConfigureAwait(false) is { } s) yield return s;
    }

    public Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default) =>
        _jobs.TryGetValue(backendJobId, out var job) ? Task.FromResult(job.Logs) : throw new JobNotFoundException(backendJobId) { Backend = Name };

    // The engine derives usage from its own record (dispatch to end, the allocation): the guest's clock is not trusted.
    public Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default) => Task.FromResult<UsageRecord?>(null);

    public async Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!_jobs.TryGetValue(backendJobId, out var job) || !job.State.IsTerminal()) return;
        if (!_vms.TryGetValue(job.Node, out var vm) || vm.Power != VmPower.Up) return;
        await vm.Agent.RunAsync("/bin/rm", ["-rf", "--", job.WorkingDirectory], _time, cancellationToken).ConfigureAwait(false);
    }

    private CompGridException Failure(string message, string jobId) =>
        new(message) { Backend = Name, JobId = jobId, Operation = "submit", Code = CompGridErrorCodes.GuestAgentError, IsTransient = true };

    public async ValueTask DisposeAsync()
    {
        foreach (var vm in _vms.Values) await vm.DisposeAsync().ConfigureAwait(false);
    }
}
