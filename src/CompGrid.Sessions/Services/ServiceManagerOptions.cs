namespace CompGrid.Sessions.Services;

/// <summary>
/// How services run (<c>CompGrid:Services</c>). Validated by <see cref="ServiceManagerOptionsValidator"/>, in DI at
/// start-up and in <see cref="ServiceManager.Create"/> alike.
/// </summary>
public sealed class ServiceManagerOptions
{
    /// <summary>How often replicas' jobs are looked at, due health checks run and the scaler decides. <value>The default is 1 second.</value></summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The window over which requests per second are averaged. <value>The default is 30 seconds.</value></summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long after its last change a service may scale down. <value>The default is 2 minutes.</value></summary>
    public TimeSpan ScaleDownCoolDown { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a started replica may fail its health checks before they count against it. <value>The default is 1 minute.</value></summary>
    public TimeSpan StartGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The most replicas one service may have. <value>The default is 10.</value></summary>
    public int MaxReplicasPerService { get; set; } = 10;

    /// <summary>
    /// The walltime of each replica job; a replica that reaches it is replaced like one that exited. Billing holds funds
    /// for a whole walltime per replica, so a long one ties up a grant. <value>The default is 1 day.</value>
    /// </summary>
    public TimeSpan ReplicaWalltime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// The backend replicas run on, or null for the engine's default. Its nodes must be this machine (the Local
    /// backend): the proxy reaches replicas on 127.0.0.1 only. <value>The default is null.</value>
    /// </summary>
    public string? Backend { get; set; }

    /// <summary>The path under which the portal's proxy serves services (<c>{prefix}/{name}/</c>). <value>The default is <c>/services</c>.</value></summary>
    public string PathPrefix { get; set; } = "/services";
}
