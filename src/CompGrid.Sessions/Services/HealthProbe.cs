namespace CompGrid.Sessions.Services;

/// <summary>One HTTP health check of a replica on 127.0.0.1: healthy when it answers 2xx or 3xx within the timeout.</summary>
internal sealed class HealthProbe(HttpClient http, TimeProvider time)
{
    public async Task<bool> CheckAsync(Uri upstream, string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        // The timeout runs on the injected clock, like every other interval of the manager.
        using var cts = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, cancellationToken);
        try
        {
            using var response = await http.GetAsync(new Uri(upstream, path), HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            return status is >= 200 and < 400;
        }
        catch (HttpRequestException) { return false; }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { return false; }
    }
}
