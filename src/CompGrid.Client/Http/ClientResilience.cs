using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;

namespace CompGrid.Client;

/// <summary>
/// The one resilience pipeline of the client, used by DI and by the factory alike: a timeout per attempt, and retries
/// of transient failures for idempotent methods only (a POST that timed out may have been applied: never repeated).
/// </summary>
internal static class ClientResilience
{
    public const string PipelineName = "CompGrid.Client";

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, CompGridClientOptions options, TimeProvider time, ILogger logger)
    {
        builder.TimeProvider = time;
        if (options.MaxRetryAttempts > 0)
        {
            var retry = new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = a =>
                {
                    var request = a.Outcome.Result?.RequestMessage;
                    Log.Retrying(logger, request?.Method.Method ?? "?", request?.RequestUri?.AbsolutePath ?? "?", a.AttemptNumber + 1, a.RetryDelay,
                        a.Outcome.Exception?.Message ?? (a.Outcome.Result is { } r ? ((int)r.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture) : null));
                    return default;
                },
            };
            retry.DisableForUnsafeHttpMethods();   // GET, HEAD, OPTIONS, TRACE only
            builder.AddRetry(retry);
        }
        builder.AddTimeout(options.RequestTimeout);
    }

    public static ResiliencePipeline<HttpResponseMessage> Build(CompGridClientOptions options, TimeProvider time, ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = PipelineName };
        Configure(builder, options, time, logger);
        return builder.Build();
    }
}
