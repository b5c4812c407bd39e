namespace CompGrid.Sessions;

/// <summary>
/// How Jupyter sessions run (<c>CompGrid:Sessions:Jupyter</c>). Validated by <see cref="JupyterSessionOptionsValidator"/>,
/// in DI at start-up and in <see cref="JupyterSessions.Create"/> alike.
/// </summary>
public sealed class JupyterSessionOptions
{
    /// <summary>The notebook server program on the nodes (Debian's <c>jupyter-notebook</c>). <value>The default is <c>/usr/bin/jupyter-notebook</c>.</value></summary>
    public string JupyterPath { get; set; } = "/usr/bin/jupyter-notebook";

    /// <summary>
    /// How long a server with no kernels and no connections may stay untouched (its own <c>last_activity</c>) before the
    /// session is ended. <value>The default is 30 minutes.</value>
    /// </summary>
    public TimeSpan IdleLimit { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often sessions are checked (readiness, idleness, ended jobs). <value>The default is 5 seconds.</value></summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a started session may take to answer <c>/api</c> before it is ended. <value>The default is 2 minutes.</value></summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The session job's walltime: the longest a session lasts even when busy. <value>The default is 8 hours.</value></summary>
    public TimeSpan Walltime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>CPUs of a session job. <value>The default is 1.</value></summary>
    public int Cpus { get; set; } = 1;

    /// <summary>Memory of a session job in MiB, or 0 for the engine's default. <value>The default is 0.</value></summary>
    public long MemoryMiB { get; set; }

    /// <summary>
    /// The backend sessions run on, or null for the engine's default. Its nodes must be this machine (the Local
    /// backend): the proxy reaches the server on 127.0.0.1 only. <value>The default is null.</value>
    /// </summary>
    public string? Backend { get; set; }

    /// <summary>The path under which the portal's proxy serves sessions; a session's base path is <c>{prefix}/{id}/</c>. <value>The default is <c>/sessions</c>.</value></summary>
    public string PathPrefix { get; set; } = "/sessions";
}
