using Microsoft.Extensions.Logging;

namespace CompGrid.Agent;

/// <summary>The agent's jobs as the desktop policy acts on them.</summary>
internal interface IDesktopJobs
{
    /// <summary>The ids of the jobs that have not ended.</summary>
    IReadOnlyList<string> Running { get; }

    /// <summary>Stops every process of the job (SIGSTOP); false when there is nothing to stop.</summary>
    bool Suspend(string jobId);

    /// <summary>Continues a suspended job (SIGCONT).</summary>
    bool Resume(string jobId);

    /// <summary>Ends the job; the portal sees it end as NodeFailed with <paramref name="reason"/>.</summary>
    Task VacateAsync(string jobId, string reason, CancellationToken cancellationToken);
}

/// <summary>
/// HTCondor-like desktop policy, evaluated on every poll: the agent takes work only once the console has been idle for
/// <see cref="DesktopPolicyOptions.MinimumIdle"/>; when the user comes back it suspends the jobs (continued once the
/// console is idle that long again, vacated if the user stays past <see cref="DesktopPolicyOptions.VacateAfter"/>) or
/// vacates them at once. While someone is at the machine the agent tells the portal it takes no work (the node drains).
/// </summary>
internal sealed class DesktopPolicy(DesktopPolicyOptions options, IIdleSource idle, TimeProvider time, ILogger logger)
{
    private readonly Dictionary<string, DateTimeOffset> _suspended = new(StringComparer.Ordinal);

    /// <summary>Whether the machine takes new work now. Until the first evaluation an enabled policy says no.</summary>
    public bool Accepting { get; private set; } = !options.Enabled;

    /// <summary>The jobs suspended now, and since when.</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> Suspended => _suspended;

    public async Task ApplyAsync(IDesktopJobs jobs, CancellationToken cancellationToken)
    {
        if (!options.Enabled) return;
        var idleFor = await idle.GetIdleTimeAsync(cancellationToken).ConfigureAwait(false);
        var running = jobs.Running;
        foreach (string ended in _suspended.Keys.Except(running, StringComparer.Ordinal).ToList()) _suspended.Remove(ended);

        if (idleFor is { } t && t >= options.MinimumIdle)
        {
            if (!Accepting) Log.ConsoleIdle(logger, t.TotalMinutes);
            Accepting = true;
            foreach (string id in _suspended.Keys.ToList())
            {
                jobs.Resume(id);
                _suspended.Remove(id);
            }
            return;
        }

        if (Accepting) Log.UserBack(logger, running.Count, options.OnUserReturn.ToString());
        Accepting = false;
        var now = time.GetUtcNow();
        foreach (string id in running)
        {
            if (options.OnUserReturn == DesktopAction.Vacate)
            {
                await jobs.VacateAsync(id, "vacated: the machine's user came back", cancellationToken).ConfigureAwait(false);
                continue;
            }
            if (!_suspended.TryGetValue(id, out var since))
            {
                if (jobs.Suspend(id)) _suspended[id] = now;
            }
            else if (now - since >= options.VacateAfter)
            {
                // SIGTERM waits for SIGCONT in a stopped process: continue it so it can shut down.
                _suspended.Remove(id);
                jobs.Resume(id);
                await jobs.VacateAsync(id, $"vacated: the machine's user stayed longer than {options.VacateAfter} while the job was suspended", cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
