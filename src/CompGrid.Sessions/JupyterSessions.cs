using System.Collections.Concurrent;
using System.Security.Cryptography;
using CompGrid.Sessions.Diagnostics;
using CompGrid.Sessions.Jupyter;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CompGrid.Sessions;

/// <summary>
/// Opens Jupyter Notebook sessions as jobs and watches them: a session is Ready once its server answers, and is ended
/// (its job cancelled, so it is charged like any job and its working directory removed by the backend) when the
/// server's own <c>/api/status</c> shows no kernels, no connections and a <c>last_activity</c> older than
/// <see cref="JupyterSessionOptions.IdleLimit"/> on the injected clock.
/// </summary>
/// <example>
/// <code>
/// var sessions = JupyterSessions.Create(engine, new JupyterSessionOptions { IdleLimit = TimeSpan.FromMinutes(20) });
/// var s = await sessions.OpenAsync("alice", "alice-lab");
/// await sessions.CheckAsync();   // or RunAsync in the background
/// </code>
/// </example>
public sealed class JupyterSessions : IDisposable
{
    private readonly ICompGridClient _grid;
    private readonly JupyterSessionOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly JupyterProbe _probe;
    private readonly ConcurrentDictionary<string, JupyterSession> _sessions = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _checking = new(1, 1);

    private JupyterSessions(ICompGridClient grid, JupyterSessionOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider)
    {
        _grid = grid;
        _options = options;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("CompGrid.Sessions");
        _time = timeProvider ?? TimeProvider.System;
        // Loopback only, no proxy from the environment: the probe talks to the server on this machine and nowhere else.
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(5) };
        _probe = new JupyterProbe(_http);
    }

    /// <summary>The sessions on <paramref name="grid"/> with <paramref name="options"/> (validated by <see cref="JupyterSessionOptionsValidator"/>).</summary>
    /// <exception cref="ArgumentException">The options are invalid; the message lists every failure.</exception>
    public static JupyterSessions Create(ICompGridClient grid, JupyterSessionOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(options);
        var result = new JupyterSessionOptionsValidator().Validate(null, options);
        if (result.Failed) throw new ArgumentException("Invalid Jupyter session options: " + result.FailureMessage, nameof(options));
        return new JupyterSessions(grid, options, loggerFactory, timeProvider);
    }

    /// <summary>The options in use.</summary>
    public JupyterSessionOptions Options => _options;

    /// <summary>
    /// Opens a session for <paramref name="owner"/>, charged to <paramref name="account"/>: submits its job (admission,
    /// approval and the billing hold apply as to any job) and returns it Starting.
    /// </summary>
    public async Task<JupyterSession> OpenAsync(string owner, string? account = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        string basePath = $"{_options.PathPrefix}/{id}/";
        int port = Polling.FreeLoopbackPort();
        var handle = await _grid.SubmitAsync(JupyterJob.Spec(_options, owner, account, id, port, basePath, token), cancellationToken).ConfigureAwait(false);
        var session = new JupyterSession
        {
            Id = id, JobId = handle.Id, Owner = owner, BasePath = basePath, OpenedAt = _time.GetUtcNow(),
            Upstream = new Uri($"http://127.0.0.1:{port}/"), Token = token,
        };
        _sessions[id] = session;
        Log.Opened(_logger, id, owner, handle.Id, port);
        return session;
    }

    /// <summary>The session <paramref name="id"/>, or null.</summary>
    public JupyterSession? Get(string id) => _sessions.TryGetValue(id, out var s) ? s : null;

    /// <summary>Every session (of <paramref name="owner"/> when given), newest first.</summary>
    public IReadOnlyList<JupyterSession> List(string? owner = null) =>
        _sessions.Values.Where(s => owner is null || s.Owner == owner).OrderByDescending(s => s.OpenedAt).ToList();

    /// <summary>Ends a session now (its job is cancelled); an ended or unknown session is returned unchanged (null when unknown).</summary>
    public async Task<JupyterSession?> CloseAsync(string id, string? actor = null, CancellationToken cancellationToken = default)
    {
        if (Get(id) is not { } s) return null;
        if (s.State == SessionState.Ended) return s;
        await EndAsync(s, "closed", actor, cancellationToken).ConfigureAwait(false);
        return Get(id);
    }

    /// <summary>
    /// One pass over the sessions: Starting ones are probed and become Ready when the server answers (or are ended after
    /// <see cref="JupyterSessionOptions.StartTimeout"/>), Ready ones are ended when idle, and those whose job ended are
    /// marked Ended.
    /// </summary>
    public async Task CheckAsync(CancellationToken cancellationToken = default)
    {
        await _checking.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var s in _sessions.Values.Where(s => s.State != SessionState.Ended).ToList())
                await CheckOneAsync(s, cancellationToken).ConfigureAwait(false);
        }
        finally { _checking.Release(); }
    }

    /// <summary>Runs <see cref="CheckAsync"/> every <see cref="JupyterSessionOptions.PollInterval"/> (on the injected clock) until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        Polling.RunAsync(CheckAsync, _options.PollInterval, _time, ex => Log.CheckFailed(_logger, ex), cancellationToken);

    private async Task CheckOneAsync(JupyterSession s, CancellationToken ct)
    {
        var job = await _grid.GetJobAsync(s.JobId, ct).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        if (job is null || job.State.IsTerminal())
        {
            string reason = s.EndReason ?? (job is null ? "job not found" : $"job {job.State}" + (job.Reason is { Length: > 0 } r ? $": {r}" : ""));
            _sessions[s.Id] = s with { State = SessionState.Ended, EndedAt = job?.EndedAt ?? now, EndReason = reason, Url = null };
            Log.Ended(_logger, s.Id, reason);
            return;
        }
        if (job.State != JobState.Running)
        {
            return;   // queued or awaiting approval: the start timeout counts from when it runs
        }
        var status = await _probe.StatusAsync(s.Upstream!, s.BasePath, s.Token, ct).ConfigureAwait(false);
        if (s.State == SessionState.Starting)
        {
            if (status is not null)
            {
                _sessions[s.Id] = s with { State = SessionState.Ready, ReadyAt = now, Url = s.BasePath + "tree" };
                Log.Ready(_logger, s.Id, s.BasePath);
            }
            else if (job.StartedAt is { } started && now - started > _options.StartTimeout)
            {
                await EndAsync(s, "did not start", null, ct).ConfigureAwait(false);
            }
            return;
        }
        if (status is not null && status.IsIdle(now, _options.IdleLimit))
            await EndAsync(s, "idle", null, ct).ConfigureAwait(false);
    }

    private async Task EndAsync(JupyterSession s, string reason, string? actor, CancellationToken ct)
    {
        Log.Ending(_logger, s.Id, reason);
        _sessions[s.Id] = s with { EndReason = reason };
        // Cancelling stops the server (SIGTERM ends its kernels too); the engine charges the job and the backend removes its workspace.
        await _grid.CancelAsync(s.JobId, actor ?? "sessions", ct).ConfigureAwait(false);
    }


    /// <inheritdoc/>
    public void Dispose()
    {
        _http.Dispose();
        _checking.Dispose();
    }
}
