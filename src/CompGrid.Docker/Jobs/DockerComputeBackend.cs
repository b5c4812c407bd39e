using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using CompGrid.Docker.Engine;
using CompGrid.Docker.Staging;
using Microsoft.Extensions.Logging;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// The Docker backend: each configured engine is a node that CompGrid's placement core chooses; a job is one
/// container on the chosen engine. Backend job ids are <c>&lt;node&gt;/&lt;container id&gt;</c>.
/// </summary>
internal sealed partial class DockerComputeBackend : IComputeBackend, IBackendEventSource, IAsyncDisposable, IDisposable
{
    private static readonly string[] LiveStates = ["created", "running", "paused", "restarting"];

    /// <summary>How long the status and logs of a removed container stay in memory (logs stay on disk after that).</summary>
    internal static readonly TimeSpan CompletedRetention = TimeSpan.FromHours(1);
    private static readonly System.Diagnostics.ActivitySource s_activity = new(CompGridDiagnostics.SourceName);

    private readonly DockerBackendOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<EngineNode> _engines;
    private readonly Dictionary<string, EngineNode> _byName;
    private readonly ConcurrentDictionary<string, JobEntry> _jobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ChannelWriter<BackendJobStatus>, byte> _watchers = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly string _outputRoot;
    private readonly string _logRoot;
    private int _backgroundStarted;
    private int _samplesTaken;
    private Task _background = Task.CompletedTask;

    public DockerComputeBackend(string name, DockerBackendOptions options, TimeProvider timeProvider, ILogger logger, Func<DockerEngineOptions, HttpMessageHandler>? handlerFactory = null)
    {
        Name = name;
        _options = options;
        _time = timeProvider;
        _logger = logger;
        _engines = options.Engines.Select(e =>
        {
            var endpoint = DockerEndpoint.TryParse(e.Endpoint, e.Tls is not null, out string? error)
                ?? throw new CompGridException($"Docker backend '{name}': engine '{e.Name}' endpoint {error}.") { Backend = name, Operation = "configure" };
            var handler = handlerFactory?.Invoke(e) ?? endpoint.CreateHandler(e.Tls);
            return new EngineNode(e, new DockerEngineClient(name, e.Name, endpoint, handler, timeProvider, options.RequestTimeout, options.MaxApiVersion));
        }).ToList();
        _byName = _engines.ToDictionary(e => e.Name, StringComparer.Ordinal);
        string temp = Path.Combine(Path.GetTempPath(), "compgrid-docker", name);
        _outputRoot = options.OutputDirectory ?? Path.Combine(temp, "outputs");
        _logRoot = options.LogDirectory ?? Path.Combine(temp, "logs");
        Capabilities = new BackendCapabilities
        {
            PlacesJobsItself = false,
            Containers = true,
            Gpus = options.Engines.Any(e => e.Gpus > 0),
            MultiNode = false,
            LogStreaming = true,
            PushesEvents = true,
            Payloads = options.DefaultImage is null
                ? [PayloadKind.Container]
                : [PayloadKind.Container, PayloadKind.CommandLine, PayloadKind.Script, PayloadKind.Executable],
        };
    }

    public string Name { get; }

    public BackendCapabilities Capabilities { get; }

    internal IReadOnlyList<EngineNode> Engines => _engines;

    /// <summary>How many stats samples were applied (for tests).</summary>
    internal int SamplesTaken => Volatile.Read(ref _samplesTaken);

    // ================================================================== submit

    public async Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        EnsureBackground();
        var errors = ContainerRequestBuilder.Validate(request, _options, Name, _byName.Keys);
        if (errors.Count > 0) throw new JobValidationException(errors) { Backend = Name, Operation = "submit", JobId = request.JobId };
        var engine = request.Nodes.Count == 1 ? _byName[request.Nodes[0]] : _engines[0];
        var client = engine.Client;
        string jobId = request.JobId;
        using var activity = s_activity.StartActivity("compgrid.docker.submit");
        activity?.SetTag("compgrid.job_id", jobId);
        activity?.SetTag("compgrid.backend", Name);
        activity?.SetTag("compgrid.node", engine.Name);

        ContainerPlan plan;
        string containerId;
        await engine.SubmitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string image = request.Spec.Payload!.Kind == PayloadKind.Container ? request.Spec.Payload.Image! : _options.DefaultImage!;
            await EnsureImageAsync(engine, image, jobId, cancellationToken).ConfigureAwait(false);
            string? cpuset = _options.PinCpus ? await ChooseCpusetAsync(engine, request.Spec.Resources.Cpus, cancellationToken).ConfigureAwait(false) : null;
            plan = ContainerRequestBuilder.Build(request, _options, Name, engine.Name, cpuset, _outputRoot);
            try
            {
                containerId = (await client.CreateContainerAsync(plan.Name, plan.Request, jobId, cancellationToken).ConfigureAwait(false)).Id;
            }
            catch (CompGridException e) when (e.Code == "docker-409")
            {
                // A retried submission: adopt the container only if it carries this job's id.
                var existing = await client.InspectContainerAsync(plan.Name, jobId, cancellationToken).ConfigureAwait(false);
                if (existing is null || DockerLabels.Get(existing.Config.Labels, DockerLabels.Job) != jobId)
                    throw new CompGridException($"Docker engine '{engine.Name}': the container name '{plan.Name}' is taken by a container that is not job {jobId}.", e)
                    { Backend = Name, Operation = "submit", JobId = jobId, Code = "docker-409" };
                containerId = existing.Id;
                if (existing.State.Status != "created")
                {
                    var adopted = Register(engine, existing);
                    Log.Adopted(_logger, jobId, adopted?.BackendJobId ?? containerId);
                    return engine.Name + "/" + containerId;
                }
            }
        }
        finally
        {
            engine.SubmitGate.Release();
        }

        string backendJobId = engine.Name + "/" + containerId;
        try
        {
            await StageInAsync(engine, containerId, plan, request, cancellationToken).ConfigureAwait(false);
            await client.StartContainerAsync(containerId, jobId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.SubmitFailed(_logger, e, jobId, engine.Name);
            try { await client.RemoveContainerAsync(containerId, force: true, volumes: true, jobId, CancellationToken.None).ConfigureAwait(false); }
            catch (CompGridException cleanup) { Log.CleanupFailed(_logger, cleanup, jobId); }
            if (e is CompGridException) throw;
            throw new CompGridException($"Docker engine '{engine.Name}': starting job {jobId} failed: {e.Message}", e) { Backend = Name, Operation = "submit", JobId = jobId };
        }

        var spec = request.Spec;
        var entry = new JobEntry
        {
            BackendJobId = backendJobId,
            Node = engine.Name,
            ContainerId = containerId,
            JobId = jobId,
            Owner = spec.Owner,
            Account = spec.Account,
            Cpus = spec.Resources.Cpus,
            MemoryMiB = request.MemoryMiBPerNode > 0 ? request.MemoryMiBPerNode : spec.Resources.MemoryMiB,
            Gpus = spec.Resources.Gpus,
            Walltime = request.Walltime,
            WorkDirectory = plan.WorkDirectory,
            OutputDirectory = plan.OutputDirectory,
            Outputs = spec.Outputs,
            StartedAt = _time.GetUtcNow(),
        };
        _jobs[backendJobId] = entry;
        ArmWalltime(entry, request.Walltime);
        Log.Started(_logger, jobId, backendJobId, plan.Request.Image);
        return backendJobId;
    }

    private async Task EnsureImageAsync(EngineNode engine, string image, string jobId, CancellationToken cancellationToken)
    {
        if (_options.PullPolicy != ImagePullPolicy.Always && await engine.Client.InspectImageAsync(image, cancellationToken).ConfigureAwait(false) is not null) return;
        if (_options.PullPolicy == ImagePullPolicy.Never)
            throw new CompGridException($"Docker engine '{engine.Name}' does not have the image '{image}' and the pull policy is Never.")
            { Backend = Name, Operation = "submit", JobId = jobId, Code = "image-missing" };
        Log.Pulling(_logger, image, engine.Name);
        await engine.Client.PullImageAsync(image, ImageReference.CredentialFor(image, _options.RegistryCredentials), jobId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Chooses the least-loaded cores of the engine for a job of <paramref name="cpus"/> CPUs; null when it needs them all.</summary>
    private async Task<string?> ChooseCpusetAsync(EngineNode engine, int cpus, CancellationToken cancellationToken)
    {
        var info = await GetInfoAsync(engine, cancellationToken).ConfigureAwait(false);
        int cores = info.NCpu;
        if (cores <= 0 || cpus >= cores) return null;
        var load = new int[cores];
        var containers = await engine.Client.ListContainersAsync([DockerLabels.Managed + "=true"], all: true, cancellationToken).ConfigureAwait(false);
        foreach (var c in containers)
        {
            if (Array.IndexOf(LiveStates, c.State) < 0 || DockerLabels.Get(c.Labels, DockerLabels.Cpuset) is not { } set) continue;
            foreach (string part in set.Split(','))
                if (int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int core) && core >= 0 && core < cores) load[core]++;
        }
        return PickCores(load, cpus);
    }

    /// <summary>The <paramref name="count"/> least-loaded cores (lowest index first on ties), as a cpuset string.</summary>
    internal static string PickCores(int[] load, int count) =>
        string.Join(',', Enumerable.Range(0, load.Length).OrderBy(i => load[i]).ThenBy(i => i).Take(count).Order().Select(i => i.ToString(CultureInfo.InvariantCulture)));

    private async Task<InfoResponse> GetInfoAsync(EngineNode engine, CancellationToken cancellationToken, bool refresh = false)
    {
        if (!refresh && engine.Info is { } cached) return cached;
        var info = await engine.Client.GetInfoAsync(cancellationToken).ConfigureAwait(false);
        engine.Info = info;
        return info;
    }

    private async Task StageInAsync(EngineNode engine, string containerId, ContainerPlan plan, BackendJobRequest request, CancellationToken cancellationToken)
    {
        string target;
        string relative;
        if (plan.VolumePath is { } volume)
        {
            target = volume;
            relative = ContainerRequestBuilder.VolumeRelative(plan.WorkDirectory, volume)!;
        }
        else
        {
            // Extract at the deepest existing parent so the working directory itself is created owned by the job's user.
            target = plan.WorkDirectory;
            relative = "";
            while (target != "/" && await engine.Client.StatPathAsync(containerId, target, request.JobId, cancellationToken).ConfigureAwait(false) is null)
            {
                int slash = target.LastIndexOf('/');
                string name = target[(slash + 1)..];
                relative = relative.Length == 0 ? name : name + "/" + relative;
                target = slash <= 0 ? "/" : target[..slash];
            }
        }
        if (relative.Length == 0 && request.Spec.Inputs.Count == 0 && plan.Script is null) return;

        string temp = Path.Combine(Path.GetTempPath(), "compgrid-stage-" + Guid.NewGuid().ToString("N") + ".tar");
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
        await using (file.ConfigureAwait(false))
        {
            TarStaging.WriteInputArchive(file, relative, request.Spec.Inputs, plan.Script, plan.Uid, plan.Gid, _time.GetUtcNow());
            file.Position = 0;
            await engine.Client.PutArchiveAsync(containerId, target, () => new NonDisposingStreamContent(file), request.JobId, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stream content that leaves the stream open (the caller owns the temp file).</summary>
    private sealed class NonDisposingStreamContent : StreamContent
    {
        public NonDisposingStreamContent(Stream stream) : base(new KeepOpenStream(stream)) => Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
    }

    private sealed class KeepOpenStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    // ================================================================== walltime

    private void ArmWalltime(JobEntry entry, TimeSpan dueIn)
    {
        if (entry.Walltime <= TimeSpan.Zero) return;
        if (dueIn < TimeSpan.Zero) dueIn = TimeSpan.Zero;
        lock (entry.Gate)
        {
            entry.WalltimeTimer?.Dispose();
            entry.WalltimeTimer = _time.CreateTimer(static state =>
            {
                var (backend, e) = ((DockerComputeBackend, JobEntry))state!;
                _ = backend.EnforceWalltimeAsync(e);
            }, (this, entry), dueIn, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task EnforceWalltimeAsync(JobEntry entry)
    {
        try
        {
            if (entry.Final is not null || !_byName.TryGetValue(entry.Node, out var engine)) return;
            var container = await engine.Client.InspectContainerAsync(entry.ContainerId, entry.JobId, _shutdown.Token).ConfigureAwait(false);
            if (container is null || !container.State.Running) return;
            lock (entry.Gate)
            {
                if (entry.Final is not null || entry.CancelRequested) return;
                entry.TimedOut = true;
            }
            Log.WalltimeExceeded(_logger, entry.JobId, entry.Walltime);
            await engine.Client.StopContainerAsync(entry.ContainerId, _options.StopTimeout, entry.JobId, _shutdown.Token).ConfigureAwait(false);
            Publish(await GetStatusAsync(entry.BackendJobId, _shutdown.Token).ConfigureAwait(false));
        }
        catch (Exception e) when (e is CompGridException or OperationCanceledException)
        {
            Log.WalltimeStopFailed(_logger, e, entry.JobId);
        }
    }

    // ================================================================== status

    internal static bool TryParseId(string backendJobId, out string node, out string containerId)
    {
        int slash = backendJobId.IndexOf('/', StringComparison.Ordinal);
        node = slash > 0 ? backendJobId[..slash] : "";
        containerId = slash > 0 ? backendJobId[(slash + 1)..] : "";
        return slash > 0 && containerId.Length > 0 && !containerId.Contains('/', StringComparison.Ordinal);
    }

    public async Task<BackendJobStatus?> GetStatusAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!TryParseId(backendJobId, out string node, out string containerId) || !_byName.TryGetValue(node, out var engine)) return null;
        _jobs.TryGetValue(backendJobId, out var entry);
        if (entry?.Final is { } final) return final;
        ContainerInspect? container;
        try
        {
            container = await engine.Client.InspectContainerAsync(containerId, entry?.JobId, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (IsEngineFailure(e))
        {
            OnEngineUnreachable(engine, e.Message);
            if (UnreachableStatus(engine, entry) is { } unreachable) return unreachable;
            throw;
        }
        await OnEngineReachableAsync(engine).ConfigureAwait(false);
        if (container is null)
        {
            if (entry is null) return null;
            lock (entry.Gate)
                entry.Final ??= MakeStatus(entry, JobState.Failed, "removed", $"the container {containerId} was removed outside CompGrid", null, null, entry.StartedAt, _time.GetUtcNow());
            return entry.Final;
        }
        entry ??= Register(engine, container);
        return entry is null ? null : Observe(entry, container);
    }

    private static bool IsEngineFailure(CompGridException e) => e.Code is DockerEngineClient.UnreachableCode or "engine-timeout";

    /// <summary>Registers a container found on an engine (after a restart of CompGrid); null when it is not this backend's.</summary>
    private JobEntry? Register(EngineNode engine, ContainerInspect container)
    {
        var fresh = JobEntry.FromContainer(Name, engine.Name, container);
        if (fresh is null) return null;
        var entry = _jobs.GetOrAdd(fresh.BackendJobId, fresh);
        if (ReferenceEquals(entry, fresh) && container.State.Running && entry.Walltime > TimeSpan.Zero)
        {
            var started = container.State.StartedAtTime ?? _time.GetUtcNow();
            ArmWalltime(entry, started + entry.Walltime - _time.GetUtcNow());
        }
        return entry;
    }

    private BackendJobStatus Observe(JobEntry entry, ContainerInspect container)
    {
        lock (entry.Gate)
        {
            if (entry.Final is { } final) return final;
            if (container.State.StartedAtTime is { } started) entry.StartedAt = started;
            if (container.State.Running) entry.EngineLostAt = null; // it survived the engine's outage
            var (state, reason, exit, signal) = ContainerStateMapper.Map(container.State, entry.Flags);
            bool terminal = state.IsTerminal();
            string native = container.State.Status + (container.State.OomKilled ? " (OOMKilled)" : "");
            var status = MakeStatus(entry, state, native, reason, exit, signal, entry.StartedAt, terminal ? container.State.FinishedAtTime ?? _time.GetUtcNow() : null);
            entry.Last = status;
            if (terminal)
            {
                entry.Final = status;
                entry.EndedAt = status.EndedAt;
                entry.WalltimeTimer?.Dispose();
                entry.WalltimeTimer = null;
            }
            return status;
        }
    }

    private static BackendJobStatus MakeStatus(JobEntry entry, JobState state, string? native, string? reason, int? exit, int? signal, DateTimeOffset? started, DateTimeOffset? ended) => new()
    {
        BackendJobId = entry.BackendJobId,
        JobId = entry.JobId,
        State = state,
        NativeState = native,
        Reason = reason,
        ExitCode = exit,
        Signal = signal,
        StartedAt = started,
        EndedAt = ended,
        Nodes = [entry.Node],
    };

    /// <summary>The status of a job whose engine cannot be reached: still Running within the grace period, NodeFailed after it.</summary>
    private BackendJobStatus? UnreachableStatus(EngineNode engine, JobEntry? entry)
    {
        if (entry is null) return null;
        var since = engine.UnreachableSince ?? _time.GetUtcNow();
        if (_time.GetUtcNow() - since >= _options.EngineDownAfter) DeclareDown(engine);
        lock (entry.Gate)
        {
            if (entry.Final is { } final) return final;
            entry.EngineLostAt ??= since;
            var last = entry.Last ?? MakeStatus(entry, JobState.Running, "unknown", null, null, null, entry.StartedAt, null);
            return last with
            {
                Reason = $"Docker engine '{engine.Name}' unreachable since {since:O} ({engine.LastError}); the job is reported NodeFailed if it stays unreachable for {_options.EngineDownAfter}",
            };
        }
    }

    private void OnEngineUnreachable(EngineNode engine, string error)
    {
        bool first = engine.UnreachableSince is null;
        var since = engine.MarkUnreachable(_time.GetUtcNow(), error);
        if (first) Log.EngineUnreachable(_logger, engine.Name, engine.Client.Endpoint.Display, error);
        foreach (var entry in _jobs.Values)
        {
            if (entry.Node != engine.Name) continue;
            lock (entry.Gate)
                if (entry.Final is null) entry.EngineLostAt ??= since;
        }
        if (_time.GetUtcNow() - since >= _options.EngineDownAfter) DeclareDown(engine);
    }

    /// <summary>Marks the engine's node down and its unfinished jobs NodeFailed (once).</summary>
    private void DeclareDown(EngineNode engine)
    {
        if (!engine.TryDeclareDown()) return;
        var since = engine.UnreachableSince ?? _time.GetUtcNow();
        string reason = $"Docker engine '{engine.Name}' ({engine.Client.Endpoint.Display}) has been unreachable since {since:O}: {engine.LastError}";
        Log.EngineDown(_logger, engine.Name, reason);
        var now = _time.GetUtcNow();
        foreach (var entry in _jobs.Values)
        {
            if (entry.Node != engine.Name) continue;
            BackendJobStatus? failed = null;
            lock (entry.Gate)
            {
                if (entry.Final is not null || entry.Removed) continue;
                failed = MakeStatus(entry, JobState.NodeFailed, "engine-unreachable", reason, null, null, entry.StartedAt, now);
                entry.Final = failed;
                entry.Last = failed;
                entry.EndedAt = now;
                entry.PendingKill = true;
                entry.WalltimeTimer?.Dispose();
                entry.WalltimeTimer = null;
            }
            Publish(failed);
        }
    }

    private async Task OnEngineReachableAsync(EngineNode engine)
    {
        if (!engine.MarkReachable()) return;
        Log.EngineBack(_logger, engine.Name);
        foreach (var entry in _jobs.Values.Where(e => e.Node == engine.Name).ToList())
        {
            bool kill, complete;
            lock (entry.Gate)
            {
                kill = entry.PendingKill;
                complete = entry.CompleteRequested && !entry.Removed;
                entry.PendingKill = false;
            }
            if (!kill) continue;
            try
            {
                // The job was reported NodeFailed; a container that survived the outage must not keep running.
                await engine.Client.KillContainerAsync(entry.ContainerId, "SIGKILL", entry.JobId, _shutdown.Token).ConfigureAwait(false);
                if (complete) await CompleteCoreAsync(engine, entry, _shutdown.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is CompGridException or OperationCanceledException or IOException)
            {
                Log.CleanupFailed(_logger, e, entry.JobId);
            }
        }
    }

    private void Publish(BackendJobStatus? status)
    {
        if (status is null) return;
        foreach (var writer in _watchers.Keys) writer.TryWrite(status);
    }

    // ================================================================== cancel, list, logs

    public async Task CancelAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!TryParseId(backendJobId, out string node, out string containerId) || !_byName.TryGetValue(node, out var engine))
            throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "cancel" };
        _jobs.TryGetValue(backendJobId, out var entry);
        if (entry?.Final is not null) return;
        var container = await engine.Client.InspectContainerAsync(containerId, entry?.JobId, cancellationToken).ConfigureAwait(false);
        if (container is null)
        {
            if (entry is null) throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "cancel" };
            return;
        }
        entry ??= Register(engine, container) ?? throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "cancel" };
        if (Array.IndexOf(LiveStates, container.State.Status) < 0) return; // already ended: no effect
        lock (entry.Gate)
        {
            if (entry.Final is not null) return;
            entry.CancelRequested = true;
            if (container.State.Status == "created")
            {
                entry.Final = MakeStatus(entry, JobState.Cancelled, "created", "cancelled before it started", null, null, null, _time.GetUtcNow());
                entry.Last = entry.Final;
            }
        }
        Log.Cancelling(_logger, entry.JobId, backendJobId);
        await engine.Client.StopContainerAsync(containerId, _options.StopTimeout, entry.JobId, cancellationToken).ConfigureAwait(false);
        Publish(await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false));
    }

    public async IAsyncEnumerable<BackendJobStatus> ListJobsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var engine in _engines)
        {
            IReadOnlyList<ContainerSummary>? containers = null;
            try
            {
                containers = await engine.Client.ListContainersAsync([DockerLabels.Managed + "=true", DockerLabels.Backend + "=" + Name], all: true, cancellationToken).ConfigureAwait(false);
            }
            catch (CompGridException e) when (IsEngineFailure(e))
            {
                OnEngineUnreachable(engine, e.Message);
            }
            if (containers is null)
            {
                // The engine is unreachable: report what is known of its jobs (Running within the grace period, then NodeFailed).
                foreach (var entry in _jobs.Values.Where(j => j.Node == engine.Name && !j.Removed).ToList())
                    if (UnreachableStatus(engine, entry) is { } s) yield return s;
                continue;
            }
            foreach (var c in containers)
            {
                var status = await GetStatusAsync(engine.Name + "/" + c.Id, cancellationToken).ConfigureAwait(false);
                if (status is not null) yield return status;
            }
        }
    }

    public async Task<JobLogs> GetLogsAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!TryParseId(backendJobId, out string node, out string containerId) || !_byName.TryGetValue(node, out var engine))
            throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "logs" };
        if (_jobs.TryGetValue(backendJobId, out var entry) && entry.FinalLogs is { } kept) return kept;
        try
        {
            return await engine.Client.GetLogsAsync(containerId, tty: false, _options.MaxLogBytes, entry?.JobId, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (e.Code == "docker-404")
        {
            if (await ReadKeptLogsAsync(node, containerId, cancellationToken).ConfigureAwait(false) is { } logs) return logs;
            throw new JobNotFoundException(backendJobId) { Backend = Name, Operation = "logs" };
        }
    }

    private string LogPath(string node, string containerId, string stream) => Path.Combine(_logRoot, $"{node}-{containerId}.{stream}");

    private async Task<JobLogs?> ReadKeptLogsAsync(string node, string containerId, CancellationToken cancellationToken)
    {
        string stdout = LogPath(node, containerId, "stdout");
        if (!File.Exists(stdout)) return null;
        string stderr = LogPath(node, containerId, "stderr");
        return new JobLogs
        {
            StandardOutput = await File.ReadAllTextAsync(stdout, cancellationToken).ConfigureAwait(false),
            StandardError = File.Exists(stderr) ? await File.ReadAllTextAsync(stderr, cancellationToken).ConfigureAwait(false) : "",
        };
    }

    // ================================================================== nodes

    public async Task<IReadOnlyList<NodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        EnsureBackground();
        ForgetOldJobs();
        return await Task.WhenAll(_engines.Select(e => GetNodeAsync(e, cancellationToken))).ConfigureAwait(false);
    }

    private async Task<NodeInfo> GetNodeAsync(EngineNode engine, CancellationToken cancellationToken)
    {
        var o = engine.Options;
        var node = new NodeInfo
        {
            Name = engine.Name,
            Backend = Name,
            Features = ["docker", .. o.Features],
            Partitions = [.. o.Partitions],
            GpuModel = o.GpuModel,
        };
        try
        {
            var info = await GetInfoAsync(engine, cancellationToken, refresh: true).ConfigureAwait(false);
            var running = await engine.Client.ListContainersAsync([DockerLabels.Managed + "=true"], all: false, cancellationToken).ConfigureAwait(false);
            await OnEngineReachableAsync(engine).ConfigureAwait(false);
            var capacity = Capacity(engine, info);
            var used = new NodeResources(
                running.Sum(c => DockerLabels.GetInt(c.Labels, DockerLabels.Cpus)),
                running.Sum(c => DockerLabels.GetLong(c.Labels, DockerLabels.MemoryMiB)),
                running.Sum(c => DockerLabels.GetInt(c.Labels, DockerLabels.Gpus)));
            var free = capacity - used;
            return node with
            {
                Capacity = capacity,
                Free = new NodeResources(Math.Max(0, free.Cpus), Math.Max(0, free.MemoryMiB), Math.Max(0, free.Gpus)),
                State = NodeState.Up,
                NativeState = $"docker {info.ServerVersion}, API {engine.Client.ApiVersion}",
            };
        }
        catch (CompGridException e) when (IsEngineFailure(e))
        {
            OnEngineUnreachable(engine, e.Message);
            return node with
            {
                Capacity = Capacity(engine, engine.Info),
                Free = default,
                State = NodeState.Down,
                NativeState = "unreachable",
                Reason = $"Docker engine unreachable since {engine.UnreachableSince:O}: {e.Message}",
            };
        }
    }

    private static NodeResources Capacity(EngineNode engine, InfoResponse? info) => new(
        engine.Options.Cpus ?? info?.NCpu ?? 0,
        engine.Options.MemoryMiB ?? (info?.MemTotal ?? 0) / (1024 * 1024),
        engine.Options.Gpus);

    // ================================================================== usage and completion

    public async Task<UsageRecord?> GetUsageAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!TryParseId(backendJobId, out string node, out _) || !_byName.TryGetValue(node, out var engine)) return null;
        var status = await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false);
        if (status is null || !status.State.IsTerminal() || !_jobs.TryGetValue(backendJobId, out var entry)) return null;
        lock (entry.Gate)
        {
            var started = status.StartedAt ?? entry.StartedAt;
            var ended = status.EndedAt ?? entry.EndedAt ?? _time.GetUtcNow();
            var elapsed = started is { } s && ended > s ? ended - s : TimeSpan.Zero;
            var tres = new Dictionary<string, decimal>(StringComparer.Ordinal)
            {
                ["cpu"] = entry.Cpus,
                ["mem"] = entry.MemoryMiB,
            };
            if (entry.Gpus > 0) tres["gres/gpu"] = entry.Gpus;
            return new UsageRecord
            {
                JobId = entry.JobId,
                Account = entry.Account,
                User = entry.Owner,
                Backend = Name,
                BackendJobId = backendJobId,
                Partition = engine.Options.Partitions.FirstOrDefault(),
                Nodes = [node],
                StartedAt = started,
                EndedAt = ended,
                Elapsed = elapsed,
                AllocatedCpus = entry.Cpus,
                AllocatedMemoryMiB = entry.MemoryMiB,
                AllocatedGpus = entry.Gpus,
                GpuModel = entry.Gpus > 0 ? engine.Options.GpuModel : null,
                NodeCount = 1,
                CpuTime = TimeSpan.FromTicks((long)(entry.CpuNanos / 100)),
                PeakMemoryBytes = entry.PeakMemoryBytes,
                ExitCode = status.ExitCode,
                FinalState = status.State,
                Tres = tres,
            };
        }
    }

    public async Task CompleteAsync(string backendJobId, CancellationToken cancellationToken = default)
    {
        if (!TryParseId(backendJobId, out string node, out _) || !_byName.TryGetValue(node, out var engine)) return;
        var status = await GetStatusAsync(backendJobId, cancellationToken).ConfigureAwait(false);
        if (status is null || !_jobs.TryGetValue(backendJobId, out var entry)) return; // unknown or already removed: nothing to do
        if (!status.State.IsTerminal())
            throw new CompGridException($"Job {entry.JobId} is still {status.State} on Docker engine '{node}'; complete it after it ended.")
            { Backend = Name, Operation = "complete", JobId = entry.JobId };
        lock (entry.Gate)
        {
            if (entry.Removed) return;
            entry.CompleteRequested = true;
            // An engine that is down is cleaned up when it comes back (see OnEngineReachableAsync).
            if (entry.PendingKill) return;
        }
        await CompleteCoreAsync(engine, entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps the logs, stages the outputs out, then removes the container and its volume.</summary>
    private async Task CompleteCoreAsync(EngineNode engine, JobEntry entry, CancellationToken cancellationToken)
    {
        await entry.CompleteGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (entry.Removed) return;
            using var activity = s_activity.StartActivity("compgrid.docker.complete");
            activity?.SetTag("compgrid.job_id", entry.JobId);
            activity?.SetTag("compgrid.node", entry.Node);
            var client = engine.Client;
            JobLogs logs;
            try
            {
                logs = await client.GetLogsAsync(entry.ContainerId, tty: false, _options.MaxLogBytes, entry.JobId, cancellationToken).ConfigureAwait(false);
            }
            catch (CompGridException e) when (e.Code == "docker-404")
            {
                lock (entry.Gate) entry.Removed = true; // removed outside CompGrid: nothing left to stage or remove
                return;
            }
            entry.FinalLogs = logs;
            try
            {
                Directory.CreateDirectory(_logRoot);
                await File.WriteAllTextAsync(LogPath(entry.Node, entry.ContainerId, "stdout"), logs.StandardOutput, cancellationToken).ConfigureAwait(false);
                await File.WriteAllTextAsync(LogPath(entry.Node, entry.ContainerId, "stderr"), logs.StandardError, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) { Log.KeepLogsFailed(_logger, e, entry.JobId); }
            catch (UnauthorizedAccessException e) { Log.KeepLogsFailed(_logger, e, entry.JobId); }

            CompGridException? rejected = null;
            var budget = new OutputBudget(_options.MaxOutputBytes, _options.MaxOutputFiles);
            foreach (var item in entry.Outputs)
            {
                try { await StageOutAsync(client, entry, item, budget, cancellationToken).ConfigureAwait(false); }
                catch (CompGridException e) when (e.Code is "unsafe-archive" or "output-limit") { rejected ??= e; Log.OutputRejected(_logger, entry.JobId, e.Message); }
            }
            await client.RemoveContainerAsync(entry.ContainerId, force: true, volumes: true, entry.JobId, cancellationToken).ConfigureAwait(false);
            lock (entry.Gate)
            {
                entry.Removed = true;
                entry.RemovedAt = _time.GetUtcNow();
            }
            Log.Completed(_logger, entry.JobId, entry.BackendJobId);
            if (rejected is not null) throw rejected;
        }
        finally
        {
            entry.CompleteGate.Release();
        }
    }

    private async Task StageOutAsync(DockerEngineClient client, JobEntry entry, StagingItem item, OutputBudget budget, CancellationToken cancellationToken)
    {
        var segments = TarStaging.Segments(item.Source);
        if (segments.Length == 0 || TarStaging.CheckRelativePath(item.Source) is not null || TarStaging.CheckRelativePath(item.Destination) is not null)
            throw new CompGridException($"Output '{item.Source}' -> '{item.Destination}' of job {entry.JobId} escapes its directory.") { Backend = Name, Operation = "stage-out", JobId = entry.JobId, Code = "unsafe-archive" };
        string source = entry.WorkDirectory.TrimEnd('/') + "/" + string.Join('/', segments);
        using var response = await client.GetArchiveAsync(entry.ContainerId, source, entry.JobId, cancellationToken).ConfigureAwait(false);
        if (response is null)
        {
            Log.OutputMissing(_logger, entry.JobId, source);
            return;
        }
        string temp = Path.Combine(Path.GetTempPath(), "compgrid-out-" + Guid.NewGuid().ToString("N") + ".tar");
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
        await using (file.ConfigureAwait(false))
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                if (!await StageOutCopy.CopyAtMostAsync(body, file, budget.ArchiveBytesLeft, cancellationToken).ConfigureAwait(false))
                    throw OutputLimit(entry, item, budget);
            }
            file.Position = 0;
            var (plan, problems) = OutputArchive.Check(file, segments[^1], entry.OutputDirectory, item.Destination, budget);
            if (plan is null)
            {
                bool limit = problems.Any(p => p.Contains("DockerBackendOptions.Max", StringComparison.Ordinal));
                throw new CompGridException($"Output '{item.Source}' of job {entry.JobId} was not staged: {string.Join("; ", problems)}.")
                { Backend = Name, Operation = "stage-out", JobId = entry.JobId, Code = limit ? "output-limit" : "unsafe-archive" };
            }
            file.Position = 0;
            OutputArchive.Extract(file, plan);
            budget.Spend(plan.Bytes, plan.Entries.Count);
        }
    }

    private CompGridException OutputLimit(JobEntry entry, StagingItem item, OutputBudget budget) =>
        new($"Output '{item.Source}' of job {entry.JobId} was not staged: the outputs are larger than {budget.MaxBytes} bytes (DockerBackendOptions.MaxOutputBytes).")
        { Backend = Name, Operation = "stage-out", JobId = entry.JobId, Code = "output-limit" };

    // ================================================================== events and background

    public async IAsyncEnumerable<BackendJobStatus> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        EnsureBackground();
        var channel = Channel.CreateUnbounded<BackendJobStatus>(new UnboundedChannelOptions { SingleReader = true });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        _watchers[channel.Writer] = 0;
        var pumps = _engines.Select(e => Task.Run(() => PumpEventsAsync(e, channel.Writer, cts.Token), CancellationToken.None)).ToArray();
        try
        {
            await foreach (var status in channel.Reader.ReadAllAsync(cts.Token).ConfigureAwait(false))
                yield return status;
        }
        finally
        {
            _watchers.TryRemove(channel.Writer, out _);
            await cts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(pumps).ConfigureAwait(false);
        }
    }

    private async Task PumpEventsAsync(EngineNode engine, ChannelWriter<BackendJobStatus> writer, CancellationToken cancellationToken)
    {
        var filters = new Dictionary<string, string[]>
        {
            ["type"] = ["container"],
            ["event"] = ["start", "die", "oom"],
            ["label"] = [DockerLabels.Managed + "=true", DockerLabels.Backend + "=" + Name],
        };
        long? since = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (since is not null)
                {
                    // Reconnected: events may have been missed, so reconcile the jobs still thought unfinished.
                    foreach (var entry in _jobs.Values.Where(j => j.Node == engine.Name && j.Final is null).ToList())
                        if (await GetStatusAsync(entry.BackendJobId, cancellationToken).ConfigureAwait(false) is { } s) writer.TryWrite(s);
                }
                await foreach (var ev in engine.Client.MonitorEventsAsync(filters, since, cancellationToken).ConfigureAwait(false))
                {
                    since = ev.Time;
                    if (ev.Actor?.Id is not { Length: > 0 } id) continue;
                    if (await GetStatusAsync(engine.Name + "/" + id, cancellationToken).ConfigureAwait(false) is { } status) writer.TryWrite(status);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is CompGridException or IOException or HttpRequestException or System.Text.Json.JsonException or InvalidDataException)
            {
                Log.EventsInterrupted(_logger, engine.Name, e.Message);
            }
            since ??= _time.GetUtcNow().ToUnixTimeSeconds();
            try { await Task.Delay(TimeSpan.FromSeconds(1), _time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    private void EnsureBackground()
    {
        if (Interlocked.Exchange(ref _backgroundStarted, 1) == 1) return;
        var token = _shutdown.Token;
        _background = Task.WhenAll(
            Task.Run(() => MonitorAsync(token), CancellationToken.None),
            Task.Run(() => SampleAsync(token), CancellationToken.None));
    }

    /// <summary>Pings every engine; an engine unreachable for longer than EngineDownAfter is declared down.</summary>
    private async Task MonitorAsync(CancellationToken cancellationToken)
    {
        var timeout = _options.RequestTimeout < TimeSpan.FromSeconds(5) ? _options.RequestTimeout : TimeSpan.FromSeconds(5);
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAll(_engines.Select(async engine =>
            {
                try
                {
                    await engine.Client.PingAsync(timeout, cancellationToken).ConfigureAwait(false);
                    await OnEngineReachableAsync(engine).ConfigureAwait(false);
                }
                catch (CompGridException e) when (IsEngineFailure(e) || e.Code == "docker-500" || e.Code == "docker-503")
                {
                    OnEngineUnreachable(engine, e.Message);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
            })).ConfigureAwait(false);
            ForgetOldJobs();
            try { await Task.Delay(_options.HealthCheckInterval, _time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>Drops what is kept of removed containers after <see cref="CompletedRetention"/> (their logs stay on disk).</summary>
    private void ForgetOldJobs()
    {
        var cutoff = _time.GetUtcNow() - CompletedRetention;
        foreach (var (id, entry) in _jobs)
        {
            if (entry.RemovedAt is { } at && at < cutoff && _jobs.TryRemove(id, out _))
                entry.WalltimeTimer?.Dispose();
        }
    }

    /// <summary>Samples running containers' stats for metering: cumulative CPU time and peak memory.</summary>
    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try { await Task.Delay(_options.StatsInterval, _time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            await SampleAllAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Takes one stats sample of every unfinished job.</summary>
    internal async Task SampleAllAsync(CancellationToken cancellationToken = default)
    {
        foreach (var entry in _jobs.Values.Where(j => j.Final is null).ToList())
            await SampleOnceAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    internal async Task SampleOnceAsync(JobEntry entry, CancellationToken cancellationToken)
    {
        if (!_byName.TryGetValue(entry.Node, out var engine) || engine.UnreachableSince is not null) return;
        try
        {
            var stats = await engine.Client.GetStatsAsync(entry.ContainerId, entry.JobId, cancellationToken).ConfigureAwait(false);
            if (stats is null) return;
            lock (entry.Gate)
            {
                ulong cpu = stats.CpuStats.CpuUsage.TotalUsage;
                if (cpu > entry.CpuNanos) entry.CpuNanos = cpu;
                ulong peak = Math.Max(stats.MemoryStats.MaxUsage, stats.MemoryStats.Usage);
                if (peak > 0 && (entry.PeakMemoryBytes is null || (long)peak > entry.PeakMemoryBytes)) entry.PeakMemoryBytes = (long)peak;
            }
            Interlocked.Increment(ref _samplesTaken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        catch (Exception e)
        {
            // Metering is best effort: a failed sample never stops the sampler.
            Log.StatsFailed(_logger, entry.JobId, e.GetType().Name + ": " + e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_shutdown.IsCancellationRequested) return;
        await _shutdown.CancelAsync().ConfigureAwait(false);
        try { await _background.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        DisposeCore();
    }

    public void Dispose()
    {
        if (_shutdown.IsCancellationRequested) return;
        _shutdown.Cancel();
        try { _background.Wait(TimeSpan.FromSeconds(5)); }
        catch (AggregateException) { }
        DisposeCore();
    }

    private void DisposeCore()
    {
        foreach (var entry in _jobs.Values)
        {
            entry.WalltimeTimer?.Dispose();
            entry.CompleteGate.Dispose();
        }
        foreach (var engine in _engines) engine.Dispose();
        _shutdown.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Docker job {JobId} started as {BackendJobId} ({Image})")]
        public static partial void Started(ILogger logger, string jobId, string backendJobId, string image);

        [LoggerMessage(2, LogLevel.Information, "Docker job {JobId}: adopted existing container {BackendJobId}")]
        public static partial void Adopted(ILogger logger, string jobId, string backendJobId);

        [LoggerMessage(3, LogLevel.Warning, "Docker job {JobId} could not be started on engine {Node}")]
        public static partial void SubmitFailed(ILogger logger, Exception exception, string jobId, string node);

        [LoggerMessage(4, LogLevel.Warning, "Docker job {JobId}: cleanup failed")]
        public static partial void CleanupFailed(ILogger logger, Exception exception, string jobId);

        [LoggerMessage(5, LogLevel.Information, "Pulling image {Image} on Docker engine {Node}")]
        public static partial void Pulling(ILogger logger, string image, string node);

        [LoggerMessage(6, LogLevel.Information, "Docker job {JobId} exceeded its walltime of {Walltime}; stopping it")]
        public static partial void WalltimeExceeded(ILogger logger, string jobId, TimeSpan walltime);

        [LoggerMessage(7, LogLevel.Warning, "Docker job {JobId}: stopping after the walltime failed")]
        public static partial void WalltimeStopFailed(ILogger logger, Exception exception, string jobId);

        [LoggerMessage(8, LogLevel.Warning, "Docker engine {Node} ({Endpoint}) is unreachable: {Error}")]
        public static partial void EngineUnreachable(ILogger logger, string node, string endpoint, string error);

        [LoggerMessage(9, LogLevel.Error, "Docker engine {Node} declared down: {Reason}")]
        public static partial void EngineDown(ILogger logger, string node, string reason);

        [LoggerMessage(10, LogLevel.Information, "Docker engine {Node} is reachable again")]
        public static partial void EngineBack(ILogger logger, string node);

        [LoggerMessage(11, LogLevel.Information, "Cancelling Docker job {JobId} ({BackendJobId})")]
        public static partial void Cancelling(ILogger logger, string jobId, string backendJobId);

        [LoggerMessage(12, LogLevel.Warning, "Docker job {JobId}: keeping its logs failed")]
        public static partial void KeepLogsFailed(ILogger logger, Exception exception, string jobId);

        [LoggerMessage(13, LogLevel.Warning, "Docker job {JobId}: output rejected: {Message}")]
        public static partial void OutputRejected(ILogger logger, string jobId, string message);

        [LoggerMessage(14, LogLevel.Information, "Docker job {JobId} completed; container {BackendJobId} removed")]
        public static partial void Completed(ILogger logger, string jobId, string backendJobId);

        [LoggerMessage(15, LogLevel.Warning, "Docker job {JobId}: output {Path} does not exist")]
        public static partial void OutputMissing(ILogger logger, string jobId, string path);

        [LoggerMessage(16, LogLevel.Debug, "Docker engine {Node}: event stream interrupted: {Error}")]
        public static partial void EventsInterrupted(ILogger logger, string node, string error);

        [LoggerMessage(17, LogLevel.Debug, "Docker job {JobId}: stats sample failed: {Error}")]
        public static partial void StatsFailed(ILogger logger, string jobId, string error);
    }
}
