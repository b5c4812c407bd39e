namespace CompGrid.Docker;

/// <summary>
/// The Docker backend's traces and metrics: one <c>compgrid.docker.call</c> span and duration per Engine API call
/// (<c>create</c>, <c>logs</c>, …), tagged with the operation and the engine's node name.
/// </summary>
internal static class DockerTelemetry
{
    public static readonly BackendCallTelemetry Calls = new("docker", "node", "Docker Engine API calls");
}
