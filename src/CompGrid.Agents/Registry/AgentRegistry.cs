using System.Security.Cryptography;
using System.Text;
using CompGrid.Agents.Protocol;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agents;

/// <summary>
/// The portal's view of its agents and their jobs, shared by the hub (what agents say) and the backend (what the
/// engine asks). One lock: every operation is a few dictionary look-ups. What an agent reports only ever changes its
/// own machine and its own jobs; the times of a job are when the portal heard of its start and end.
/// </summary>
internal sealed class AgentRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, AgentMachine> _machines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Machine, byte[] Hash)> _tokens = [];
    private readonly Dictionary<string, AgentJob> _jobs = new(StringComparer.Ordinal);
    private readonly Queue<string> _settled = new();
    private readonly AgentBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DateTimeOffset _startedAt;

    public AgentRegistry(AgentBackendOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _startedAt = time.GetUtcNow();
        foreach (var (name, m) in options.Machines)
        {
            _machines[name] = new AgentMachine(name, m);
            _tokens[name] = (name, Convert.FromHexString(m.TokenSha256));
        }
    }

    public AgentBackendOptions Options => _options;

    /// <summary>The machine a token belongs to, or null. Compares hashes in constant time.</summary>
    public string? Authenticate(string token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 1024) return null;
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        string? found = null;
        foreach (var (machine, expected) in _tokens.Values)
            if (CryptographicOperations.FixedTimeEquals(hash, expected)) found = machine;
        return found;
    }

    /// <summary>
    /// An agent connected and registered. Returns the welcome and the jobs the agent must cancel and clean up: jobs the
    /// portal already ended (for example as NodeFailed while the agent was away) or never gave it.
    /// </summary>
    public (AgentWelcome Welcome, IReadOnlyList<string> Stale) Register(string machine, string connectionId, AgentRegistration registration)
    {
        if (registration.ProtocolVersion != AgentProtocol.Version)
            throw new CompGridException($"Agent on '{machine}' speaks protocol {registration.ProtocolVersion}; this portal speaks {AgentProtocol.Version}. Update the agent.")
            { Operation = "register", Code = CompGridErrorCodes.UnsupportedVersion };
        var stale = new List<string>();
        lock (_gate)
        {
            var m = _machines[machine];
            m.ConnectionId = connectionId;
            m.Registration = registration with { Jobs = [] };
            m.LastSeen = _time.GetUtcNow();
            m.TimedOut = false;
            m.OwnerActive = !registration.Accepting;
            foreach (var report in registration.Jobs)
            {
                if (_jobs.TryGetValue(report.JobId, out var known))
                {
                    if (known.Machine != machine || known.State.IsTerminal() && !report.State.IsTerminal()) stale.Add(report.JobId);
                    else Apply(known, report);
                }
                else if (_time.GetUtcNow() - _startedAt <= _options.ReconnectGracePeriod)
                {
                    // The portal restarted: adopt what the agent still runs, so the engine finds it by id.
                    var adopted = new AgentJob(report.JobId, machine) { Cpus = report.Cpus, MemoryMiB = report.MemoryMiB, Gpus = report.Gpus };
                    _jobs[report.JobId] = adopted;
                    adopted.StartedAt = _time.GetUtcNow();
                    Apply(adopted, report);
                }
                else stale.Add(report.JobId);
            }
        }
        AgentTelemetry.Registrations.Add(1);
        Log.Registered(_logger, machine, registration.Hostname, registration.Cpus, registration.MemoryMiB, registration.Jobs.Count);
        return (new AgentWelcome { Machine = machine, HeartbeatInterval = _options.HeartbeatInterval }, stale);
    }

    public void Disconnected(string machine, string connectionId)
    {
        lock (_gate)
        {
            // A newer connection of the same machine may have registered already.
            if (_machines.TryGetValue(machine, out var m) && m.ConnectionId == connectionId) m.ConnectionId = null;
        }
        Log.Disconnected(_logger, machine);
    }

    public void Heartbeat(string machine, string connectionId, AgentHeartbeat? heartbeat = null)
    {
        lock (_gate)
        {
            var m = _machines[machine];
            if (m.ConnectionId != connectionId) return;
            m.LastSeen = _time.GetUtcNow();
            m.TimedOut = false;
            if (heartbeat is not null) m.OwnerActive = !heartbeat.Accepting;
        }
    }

    /// <summary>Applies a job report from <paramref name="machine"/>; reports about other machines' jobs are ignored.</summary>
    public bool Report(string machine, AgentJobReport report)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(report.JobId, out var job) || job.Machine != machine || job.State.IsTerminal()) return false;
            _machines[machine].LastSeen = _time.GetUtcNow();
            Apply(job, report);
            return true;
        }
    }

    public void AppendLog(string machine, AgentLogChunk chunk)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(chunk.JobId, out var job) || job.Machine != machine) return;
            (chunk.Stderr ? job.Stderr : job.Stdout).Append(chunk.Text, _options.MaxLogBytes);
        }
    }

    private void Apply(AgentJob job, AgentJobReport report)
    {
        var now = _time.GetUtcNow();
        // Agents may only move a job forward: queued → running → ended.
        if (report.State == JobState.Running && job.State == JobState.Queued)
        {
            job.State = JobState.Running;
            job.NativeState = "running";
            job.StartedAt ??= now;
        }
        else if (report.State.IsTerminal())
        {
            job.StartedAt ??= now;
            job.State = report.State is JobState.AwaitingApproval or JobState.Rejected ? JobState.Failed : report.State;
            job.NativeState = "ended";
            job.ExitCode = report.ExitCode;
            job.Signal = report.Signal;
            job.Reason = report.Reason is { Length: > 500 } r ? r[..500] : report.Reason;
            job.EndedAt = now;
            job.CpuTime = report.CpuTime is { } c && c >= TimeSpan.Zero ? c : null;
            job.PeakMemoryBytes = report.PeakMemoryBytes is >= 0 ? report.PeakMemoryBytes : null;
        }
    }

    /// <summary>Marks machines silent for longer than the heartbeat timeout as down and ends their jobs as NodeFailed.</summary>
    public void ExpireSilentMachines()
    {
        var now = _time.GetUtcNow();
        List<(string Machine, int Jobs)>? expired = null;
        lock (_gate)
        {
            foreach (var m in _machines.Values)
            {
                if (m.TimedOut || m.Registration is null || now - m.LastSeen <= _options.HeartbeatTimeout) continue;
                m.TimedOut = true;
                int failed = 0;
                foreach (var job in _jobs.Values.Where(j => j.Machine == m.Name && !j.State.IsTerminal()))
                {
                    job.State = JobState.NodeFailed;
                    job.NativeState = "agent-lost";
                    job.Reason = $"the agent on '{m.Name}' sent no heartbeat since {m.LastSeen:O}";
                    job.StartedAt ??= now;
                    job.EndedAt = now;
                    failed++;
                }
                (expired ??= []).Add((m.Name, failed));
            }
        }
        foreach (var (machine, jobs) in expired ?? []) { Log.MachineLost(_logger, machine, jobs); AgentTelemetry.Lost.Add(1); }
    }

    /// <summary>Records a new job on <paramref name="machine"/>; returns the connection to send it to, or why not.</summary>
    public (AgentJob? Job, string? ConnectionId, string? Refusal) Assign(string machine, BackendJobRequest request)
    {
        lock (_gate)
        {
            if (_jobs.TryGetValue(request.JobId, out var existing))
                return existing.Machine == machine ? (existing, null, null) : (null, null, $"job {request.JobId} already runs on '{existing.Machine}'");
            if (!_machines.TryGetValue(machine, out var m)) return (null, null, $"'{machine}' is not an agent node");
            if (!m.IsUp) return (null, null, $"the agent on '{machine}' is not connected");
            var job = new AgentJob(request.JobId, machine)
            {
                Owner = request.Spec.Owner, Account = request.Spec.Account, Partition = request.Spec.Constraints.Partition, Qos = request.Spec.Qos,
                Cpus = request.Spec.Resources.Cpus, MemoryMiB = request.MemoryMiBPerNode, Gpus = request.Spec.Resources.Gpus,
            };
            _jobs[request.JobId] = job;
            return (job, m.ConnectionId, null);
        }
    }

    public void Forget(string jobId)
    {
        lock (_gate) _jobs.Remove(jobId);
    }

    /// <summary>
    /// The job ended and was settled: its status and output stay readable here (the agent has removed its files);
    /// the oldest settled jobs are dropped beyond <see cref="AgentBackendOptions.RetainedJobs"/>.
    /// </summary>
    public void Settled(string jobId)
    {
        lock (_gate)
        {
            if (!_jobs.ContainsKey(jobId)) return;
            _settled.Enqueue(jobId);
            while (_settled.Count > _options.RetainedJobs && _settled.TryDequeue(out string? oldest)) _jobs.Remove(oldest);
        }
    }

    /// <summary>A copy of a job's record, or null.</summary>
    public T? Read<T>(string jobId, Func<AgentJob, T?> read) where T : class
    {
        lock (_gate) return _jobs.TryGetValue(jobId, out var job) ? read(job) : null;
    }

    public (bool Known, bool Up, bool Registered) MachineState(string machine)
    {
        lock (_gate)
            return _machines.TryGetValue(machine, out var m) ? (true, m.IsUp, m.Registration is not null) : (false, false, false);
    }

    /// <summary>The connection of <paramref name="machine"/> (null when it is not up) and whether its agent runs utmctl.</summary>
    public (string? ConnectionId, bool Utm) UtmHost(string machine)
    {
        lock (_gate)
            return _machines.TryGetValue(machine, out var m) && m.IsUp ? (m.ConnectionId, m.Registration!.Utm) : (null, false);
    }

    public string? ConnectionOf(string machine)
    {
        lock (_gate) return _machines.TryGetValue(machine, out var m) && m.IsUp ? m.ConnectionId : null;
    }

    /// <summary>Whether the portal is still within its reconnect grace period after start-up.</summary>
    public bool InGracePeriod => _time.GetUtcNow() - _startedAt <= _options.ReconnectGracePeriod;

    public List<BackendJobStatus> Statuses()
    {
        lock (_gate) return _jobs.Values.Select(j => j.ToStatus()).ToList();
    }

    public List<NodeInfo> Nodes(string backend)
    {
        lock (_gate)
        {
            var nodes = new List<NodeInfo>(_machines.Count);
            foreach (var m in _machines.Values.OrderBy(m => m.Name, StringComparer.Ordinal))
            {
                var capacity = m.Capacity;
                var used = default(NodeResources);
                foreach (var j in _jobs.Values)
                    if (j.Machine == m.Name && j.HoldsCapacity) used += new NodeResources(j.Cpus, j.MemoryMiB, j.Gpus);
                var free = capacity - used;
                nodes.Add(new NodeInfo
                {
                    Name = m.Name, Backend = backend, Capacity = capacity,
                    Free = new NodeResources(Math.Max(0, free.Cpus), Math.Max(0, free.MemoryMiB), Math.Max(0, free.Gpus)),
                    Features = [.. (m.Registration?.Features ?? []).Concat(m.Options.Features).Distinct(StringComparer.Ordinal)],
                    GpuModel = m.Registration?.GpuModel, Partitions = [.. _options.Partitions],
                    State = !m.IsUp ? NodeState.Down : m.OwnerActive ? NodeState.Draining : NodeState.Up,
                    NativeState = m.IsUp ? (m.OwnerActive ? "owner-active" : "connected") : m.Registration is null ? "never-connected" : m.TimedOut ? "heartbeat-lost" : "disconnected",
                });
            }
            return nodes;
        }
    }
}
