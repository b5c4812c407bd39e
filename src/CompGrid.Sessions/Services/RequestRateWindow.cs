namespace CompGrid.Sessions.Services;

/// <summary>
/// Requests counted in one-second buckets on the injected clock; <see cref="PerSecond"/> is their average over the
/// whole window (the seconds before the first request count as zero, so a burst after a quiet spell is not
/// mistaken for a sustained rate).
/// </summary>
internal sealed class RequestRateWindow
{
    private readonly TimeProvider _time;
    private readonly long[] _second;
    private readonly int[] _count;
    private readonly object _lock = new();

    public RequestRateWindow(TimeSpan window, TimeProvider time)
    {
        _time = time;
        int buckets = Math.Max(1, (int)Math.Ceiling(window.TotalSeconds));
        _second = new long[buckets];
        _count = new int[buckets];
        Array.Fill(_second, long.MinValue);
    }

    /// <summary>The window's length in seconds.</summary>
    public int Seconds => _second.Length;

    /// <summary>Counts one request now.</summary>
    public void Record()
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        int i = (int)(((now % _second.Length) + _second.Length) % _second.Length);
        lock (_lock)
        {
            if (_second[i] != now) { _second[i] = now; _count[i] = 0; }
            _count[i]++;
        }
    }

    /// <summary>Requests per second over the window that ends now.</summary>
    public double PerSecond()
    {
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        long total = 0;
        lock (_lock)
        {
            for (int i = 0; i < _second.Length; i++)
                if (_second[i] > now - _second.Length && _second[i] <= now) total += _count[i];
        }
        return (double)total / _second.Length;
    }
}
