using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using CompGrid.Sessions.Services;

namespace CompGrid.Sessions.Diagnostics;

/// <summary>The services' instruments on CompGrid's one Meter: replicas by state, requests per second (window average) and forwarded requests.</summary>
internal static class ServiceTelemetry
{
    public const string ReplicasName = "compgrid.service.replicas";
    public const string RequestsPerSecondName = "compgrid.service.requests_per_second";
    public const string RequestsName = "compgrid.service.requests";

    // The live managers (a host normally has one); the gauges sum what they hold.
    private static readonly ConcurrentDictionary<ServiceManager, byte> s_managers = new();

    private static readonly ObservableGauge<int> s_replicas = CompGridDiagnostics.Meter.CreateObservableGauge(ReplicasName, ObserveReplicas,
        "{replica}", "Replicas of each service by state (Starting, Healthy, Unhealthy).");

    private static readonly ObservableGauge<double> s_rps = CompGridDiagnostics.Meter.CreateObservableGauge(RequestsPerSecondName, ObserveRates,
        "{request}/s", "Requests per second through the portal's proxy to each service, averaged over the rate window.");

    private static readonly Counter<long> s_requests = CompGridDiagnostics.Meter.CreateCounter<long>(RequestsName,
        "{request}", "Requests forwarded to a service's replicas.");

    public static void Register(ServiceManager manager) { _ = s_replicas; _ = s_rps; s_managers[manager] = 0; }

    public static void Unregister(ServiceManager manager) => s_managers.TryRemove(manager, out _);

    public static void Request(string service) => s_requests.Add(1, new KeyValuePair<string, object?>("service", service));

    private static IEnumerable<Measurement<int>> ObserveReplicas()
    {
        foreach (var manager in s_managers.Keys)
            foreach (var s in manager.List())
                foreach (var state in Enum.GetValues<ReplicaState>())
                    yield return new(s.Replicas.Count(r => r.State == state),
                        new KeyValuePair<string, object?>("service", s.Name), new KeyValuePair<string, object?>("state", state.ToString()));
    }

    private static IEnumerable<Measurement<double>> ObserveRates()
    {
        foreach (var manager in s_managers.Keys)
            foreach (var s in manager.List())
                yield return new(s.RequestsPerSecond, new KeyValuePair<string, object?>("service", s.Name));
    }
}
