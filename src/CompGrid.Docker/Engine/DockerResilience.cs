using Polly;
using Polly.Retry;

namespace CompGrid.Docker.Engine;

/// <summary>The retry pipeline of idempotent Engine API reads: two retries on transient faults, on the injected clock.</summary>
internal static class DockerResilience
{
    public static ResiliencePipeline CreateReadPipeline(TimeProvider timeProvider) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<CompGridException>(e => e.IsTransient),
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromMilliseconds(150),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = false,
            })
            .Build();
}
