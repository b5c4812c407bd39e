using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace CompGrid.Slurm.Resilience;

/// <summary>
/// The resilience pipeline of one cluster: retries with exponential backoff and jitter for transient faults
/// (<see cref="CompGridException.IsTransient"/>), inside them a circuit breaker shared by every call to the cluster.
/// </summary>
internal static class SlurmResilience
{
    public static ResiliencePipeline Create(string backend, SlurmBackendOptions options, TimeProvider time, ILogger logger)
    {
        var builder = new ResiliencePipelineBuilder { Name = "CompGrid.Slurm/" + backend, TimeProvider = time };
        var transient = new PredicateBuilder().Handle<CompGridException>(e => e.IsTransient);
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = transient,
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                MaxDelay = TimeSpan.FromSeconds(30),
                OnRetry = args =>
                {
                    Log.Retrying(logger, backend, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception?.Message);
                    return ValueTask.CompletedTask;
                },
            });
        }
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            ShouldHandle = transient,
            FailureRatio = options.CircuitFailureRatio,
            MinimumThroughput = 8,
            SamplingDuration = TimeSpan.FromSeconds(30),
            BreakDuration = options.CircuitBreakDuration,
            OnOpened = args =>
            {
                Log.CircuitOpened(logger, backend, args.BreakDuration);
                return ValueTask.CompletedTask;
            },
            OnClosed = _ =>
            {
                Log.CircuitClosed(logger, backend);
                return ValueTask.CompletedTask;
            },
        });
        return builder.Build();
    }
}
