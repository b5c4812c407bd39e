using System.Text.Json;
using CompGrid.Docker.Engine;

namespace CompGrid.Docker.Jobs;

/// <summary>One engine of the pool: its client, health and cached <c>/info</c>.</summary>
internal sealed class EngineNode : IDisposable
{
    private readonly object _gate = new();

    public EngineNode(DockerEngineOptions options, DockerEngineClient client)
    {
        Options = options;
        Client = client;
    }

    public string Name => Options.Name;

    public DockerEngineOptions Options { get; }

    public DockerEngineClient Client { get; }

    /// <summary>Serialises submissions to this engine (CPU core choice, name conflicts).</summary>
    public SemaphoreSlim SubmitGate { get; } = new(1, 1);

    public InfoResponse? Info { get; set; }

    public DateTimeOffset? UnreachableSince { get { lock (_gate) return _unreachableSince; } }

    public string? LastError { get { lock (_gate) return _lastError; } }

    /// <summary>Whether the engine was declared down (its running jobs were reported NodeFailed).</summary>
    public bool Down { get { lock (_gate) return _down; } }

    private DateTimeOffset? _unreachableSince;
    private string? _lastError;
    private bool _down;

    /// <summary>Records a failed contact; returns when the engine became unreachable.</summary>
    public DateTimeOffset MarkUnreachable(DateTimeOffset now, string error)
    {
        lock (_gate)
        {
            _unreachableSince ??= now;
            _lastError = error;
            return _unreachableSince.Value;
        }
    }

    /// <summary>Declares the engine down once; true the first time.</summary>
    public bool TryDeclareDown()
    {
        lock (_gate)
        {
            if (_down) return false;
            _down = true;
            return true;
        }
    }

    /// <summary>Records a successful contact; true when the engine had been unreachable.</summary>
    public bool MarkReachable()
    {
        lock (_gate)
        {
            bool was = _unreachableSince is not null || _down;
            _unreachableSince = null;
            _lastError = null;
            _down = false;
            return was;
        }
    }

    public void Dispose()
    {
        Client.Dispose();
        SubmitGate.Dispose();
    }
}

/// <summary>What the backend knows about one of its container jobs (rebuilt from the container's labels after a restart).</summary>
internal sealed class JobEntry
{
    public required string BackendJobId { get; init; }
    public required string Node { get; init; }
    public required string ContainerId { get; init; }
    public required string JobId { get; init; }
    public string Owner { get; init; } = "";
    public string? Account { get; init; }
    public int Cpus { get; init; }
    public long MemoryMiB { get; init; }
    public int Gpus { get; init; }
    public TimeSpan Walltime { get; init; }
    public string WorkDirectory { get; init; } = "/";
    public string OutputDirectory { get; init; } = "";
    public IReadOnlyList<StagingItem> Outputs { get; init; } = [];

    public object Gate { get; } = new();
    public SemaphoreSlim CompleteGate { get; } = new(1, 1);

    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public bool CancelRequested { get; set; }
    public bool TimedOut { get; set; }
    public DateTimeOffset? EngineLostAt { get; set; }
    public BackendJobStatus? Last { get; set; }
    public BackendJobStatus? Final { get; set; }
    public bool Removed { get; set; }
    public DateTimeOffset? RemovedAt { get; set; }
    public bool CompleteRequested { get; set; }
    public bool PendingKill { get; set; }
    public JobLogs? FinalLogs { get; set; }
    public ulong CpuNanos { get; set; }
    public long? PeakMemoryBytes { get; set; }
    public ITimer? WalltimeTimer { get; set; }

    public JobFlags Flags => new(CancelRequested, TimedOut, EngineLostAt, Walltime > TimeSpan.Zero ? Walltime : null);

    /// <summary>Rebuilds an entry from a container CompGrid created (its labels); null when the container is not this backend's.</summary>
    public static JobEntry? FromContainer(string backend, string node, ContainerInspect container)
    {
        var labels = container.Config.Labels;
        if (DockerLabels.Get(labels, DockerLabels.Managed) != "true" || DockerLabels.Get(labels, DockerLabels.Backend) != backend) return null;
        if (DockerLabels.Get(labels, DockerLabels.Job) is not { Length: > 0 } jobId) return null;
        IReadOnlyList<StagingItem> outputs = [];
        if (DockerLabels.Get(labels, DockerLabels.Outputs) is { Length: > 0 } json)
        {
            try
            {
                outputs = JsonSerializer.Deserialize(json, DockerJsonContext.Default.ListStagingLabel)?
                    .Select(o => new StagingItem { Source = o.S, Destination = o.D }).ToList() ?? [];
            }
            catch (JsonException) { }
        }
        return new JobEntry
        {
            BackendJobId = node + "/" + container.Id,
            Node = node,
            ContainerId = container.Id,
            JobId = jobId,
            Owner = DockerLabels.Get(labels, DockerLabels.Owner) ?? "",
            Account = DockerLabels.Get(labels, DockerLabels.Account),
            Cpus = DockerLabels.GetInt(labels, DockerLabels.Cpus),
            MemoryMiB = DockerLabels.GetLong(labels, DockerLabels.MemoryMiB),
            Gpus = DockerLabels.GetInt(labels, DockerLabels.Gpus),
            Walltime = TimeSpan.FromSeconds(DockerLabels.GetLong(labels, DockerLabels.WalltimeSeconds)),
            WorkDirectory = DockerLabels.Get(labels, DockerLabels.WorkDirectory) ?? container.Config.WorkingDir ?? "/",
            OutputDirectory = DockerLabels.Get(labels, DockerLabels.OutputDirectory) ?? "",
            Outputs = outputs,
            StartedAt = container.State.StartedAtTime,
        };
    }
}
