namespace CompGrid.Sessions.Services;

/// <summary>
/// The autoscaling rule, in one pure place: the replicas needed are <c>ceil(rps / target)</c> within
/// [<see cref="ServiceSpec.MinReplicas"/>, <see cref="ServiceSpec.MaxReplicas"/>]. More than now: at once (the
/// window average is above the target per replica). Fewer: only once <c>coolDown</c> has passed since the last change,
/// so a lull between bursts does not stop replicas that the next burst needs.
/// </summary>
internal static class ServiceScaler
{
    public static int Decide(ServiceSpec spec, int current, double requestsPerSecond, DateTimeOffset now, DateTimeOffset lastChange, TimeSpan coolDown)
    {
        int min = spec.MinReplicas, max = spec.EffectiveMaxReplicas;
        if (spec.TargetRequestsPerSecond is not { } target) return min;
        int needed = (int)Math.Clamp(Math.Ceiling(requestsPerSecond / target), min, max);
        if (needed > current) return needed;
        if (needed < current) return now - lastChange >= coolDown ? needed : Math.Clamp(current, min, max);
        return current;
    }
}
