using System.Globalization;

namespace CompGrid.Sessions.Services;

/// <summary>The job that runs one replica: the service's payload with its port in <c>PORT</c>.</summary>
internal static class ServiceJob
{
    /// <summary>The label every replica job carries (its value is the service name).</summary>
    public const string ServiceLabel = "compgrid.service";

    /// <summary>The label with the replica's number.</summary>
    public const string ReplicaLabel = "compgrid.service.replica";

    public static JobSpec Spec(ServiceSpec service, ServiceManagerOptions options, int replica, int port) => new()
    {
        Name = $"{service.Name}-{replica.ToString(CultureInfo.InvariantCulture)}",
        Owner = service.Owner,
        Account = service.Account,
        Payload = service.Payload,
        Resources = new ResourceRequest { Cpus = service.Cpus, MemoryMiB = service.MemoryMiB },
        Walltime = options.ReplicaWalltime,
        // HOST says where to listen: the proxy reaches replicas on loopback only.
        Environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture), ["HOST"] = "127.0.0.1",
        },
        Labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ServiceLabel] = service.Name, [ReplicaLabel] = replica.ToString(CultureInfo.InvariantCulture),
        },
        Constraints = new JobConstraints { Backend = options.Backend },
    };
}
