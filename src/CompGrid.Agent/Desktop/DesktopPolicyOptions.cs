namespace CompGrid.Agent;

/// <summary>What the agent does with its jobs when the machine's user comes back.</summary>
internal enum DesktopAction
{
    /// <summary>Stop the jobs' processes (SIGSTOP) and continue them (SIGCONT) once the console is idle again.</summary>
    Suspend,

    /// <summary>End the jobs at once; the portal sees them end as NodeFailed and requeues or fails them per its policy.</summary>
    Vacate,
}

/// <summary>Section <c>Agent:Desktop</c>: HTCondor-like desktop policy, for a machine someone sits at during the day.</summary>
internal sealed class DesktopPolicyOptions
{
    /// <summary>Whether the policy applies. The default is false: the agent runs work whenever the portal sends it.</summary>
    public bool Enabled { get; set; }

    /// <summary>How long the console must have been idle before the agent takes work. The default is 15 minutes.</summary>
    public TimeSpan MinimumIdle { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>What happens to running jobs when the user comes back. The default is <see cref="DesktopAction.Suspend"/>.</summary>
    public DesktopAction OnUserReturn { get; set; } = DesktopAction.Suspend;

    /// <summary>How long jobs may stay suspended before they are vacated (the user stayed). The default is 10 minutes.</summary>
    public TimeSpan VacateAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Where idle time comes from: <c>auto</c> (<c>xprintidle</c> when on PATH, else terminals), <c>tty</c> or <c>xprintidle</c>. The default is <c>auto</c>.</summary>
    public string IdleSource { get; set; } = "auto";

    internal IEnumerable<string> Errors()
    {
        if (!Enabled) yield break;
        if (MinimumIdle < TimeSpan.Zero) yield return "Agent:Desktop:MinimumIdle must not be negative.";
        if (VacateAfter <= TimeSpan.Zero) yield return "Agent:Desktop:VacateAfter must be positive.";
        if (!Enum.IsDefined(OnUserReturn)) yield return "Agent:Desktop:OnUserReturn must be Suspend or Vacate.";
        if (IdleSource is not ("auto" or "tty" or "xprintidle")) yield return $"Agent:Desktop:IdleSource must be auto, tty or xprintidle (got '{IdleSource}').";
        else if (IdleSource == "xprintidle" && XprintidleIdleSource.Find() is null) yield return "Agent:Desktop:IdleSource is xprintidle, but no xprintidle is on PATH.";
    }

    /// <summary>The idle source the options name.</summary>
    internal IIdleSource CreateIdleSource(TimeProvider time) => IdleSource switch
    {
        "xprintidle" => new XprintidleIdleSource(XprintidleIdleSource.Find()!),
        "auto" when XprintidleIdleSource.Find() is { } path => new XprintidleIdleSource(path),
        _ => new TtyIdleSource(time),
    };
}
