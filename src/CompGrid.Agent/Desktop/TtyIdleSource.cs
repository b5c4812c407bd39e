namespace CompGrid.Agent;

/// <summary>
/// Idle time from terminal devices, as HTCondor reads it on Linux: typing on a console or in a terminal updates the
/// access time of its <c>/dev/tty*</c> or <c>/dev/pts/*</c> device, so the newest access time is the last activity.
/// </summary>
internal sealed class TtyIdleSource(TimeProvider time, IReadOnlyList<(string Directory, string Pattern)>? devices = null) : IIdleSource
{
    private readonly IReadOnlyList<(string Directory, string Pattern)> _devices = devices ?? [("/dev", "tty*"), ("/dev/pts", "*")];

    public ValueTask<TimeSpan?> GetIdleTimeAsync(CancellationToken cancellationToken)
    {
        DateTime? newest = null;
        foreach (var (directory, pattern) in _devices)
        {
            if (!Directory.Exists(directory)) continue;
            foreach (string device in Directory.EnumerateFiles(directory, pattern))
            {
                if (Path.GetFileName(device) == "ptmx") continue; // the multiplexer, touched by every new terminal
                DateTime accessed;
                try { accessed = File.GetLastAccessTimeUtc(device); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                if (newest is null || accessed > newest) newest = accessed;
            }
        }
        if (newest is not { } last) return ValueTask.FromResult<TimeSpan?>(null);
        var idle = time.GetUtcNow().UtcDateTime - last;
        return ValueTask.FromResult<TimeSpan?>(idle < TimeSpan.Zero ? TimeSpan.Zero : idle);
    }
}
