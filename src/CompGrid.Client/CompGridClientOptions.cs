namespace CompGrid.Client;

/// <summary>Where the portal is and how the client talks to it. Validated by <see cref="CompGridClientOptionsValidator"/>.</summary>
public sealed class CompGridClientOptions
{
    /// <summary>The portal's address, for example <c>https://grid.example.edu/</c> (its API lives under <c>/api</c>). Required.</summary>
    /// <value>The default is <see langword="null"/> (must be set).</value>
    public Uri? BaseAddress { get; set; }

    /// <summary>The bearer token sent as <c>Authorization: Bearer …</c> on every request.</summary>
    /// <value>The default is <see langword="null"/>: no token (the portal then answers 401 for everything but its anonymous pages).</value>
    public string? Token { get; set; }

    /// <summary>How long one HTTP attempt may take before it is abandoned (and, for reads, retried).</summary>
    /// <value>The default is 100 seconds.</value>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How often <see cref="ICompGridClient.WaitForCompletionAsync"/> and log following ask the portal again.</summary>
    /// <value>The default is 1 second.</value>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How many times an idempotent request (GET) is retried after a transient failure (connection refused, 408, 429, 5xx,
    /// a timeout). Requests that change state (submit, cancel, approve, reject, quotes, simulations) are never retried.
    /// </summary>
    /// <value>The default is 3.</value>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>The base delay between retries (exponential with jitter).</summary>
    /// <value>The default is 500 milliseconds.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);
}
