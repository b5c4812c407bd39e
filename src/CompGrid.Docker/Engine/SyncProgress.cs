namespace CompGrid.Docker.Engine;

/// <summary>
/// An <see cref="IProgress{T}"/> that runs its callback on the reporting thread, in order. (<see cref="Progress{T}"/>
/// posts each report to the thread pool, so events could be seen out of order or after the call returned.)
/// </summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
