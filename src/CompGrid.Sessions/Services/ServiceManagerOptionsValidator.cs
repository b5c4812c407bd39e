using Microsoft.Extensions.Options;

namespace CompGrid.Sessions.Services;

/// <summary>The one validator of <see cref="ServiceManagerOptions"/>: each failure names the setting and its rule.</summary>
public sealed class ServiceManagerOptionsValidator : IValidateOptions<ServiceManagerOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, ServiceManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.PollInterval <= TimeSpan.Zero) failures.Add("Services:PollInterval: must be positive");
        if (options.RateWindow < TimeSpan.FromSeconds(1) || options.RateWindow > TimeSpan.FromHours(1)) failures.Add("Services:RateWindow: must be between 1 s and 1 h");
        if (options.ScaleDownCoolDown < TimeSpan.Zero) failures.Add("Services:ScaleDownCoolDown: must not be negative");
        if (options.StartGrace < TimeSpan.Zero) failures.Add("Services:StartGrace: must not be negative");
        if (options.MaxReplicasPerService is < 1 or > 1000) failures.Add("Services:MaxReplicasPerService: must be between 1 and 1000");
        if (options.ReplicaWalltime <= TimeSpan.Zero) failures.Add("Services:ReplicaWalltime: must be positive");
        if (options.PathPrefix is not { Length: > 1 } p || !p.StartsWith('/') || p.EndsWith('/') || !p.Skip(1).All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/'))
            failures.Add("Services:PathPrefix: must start with '/', not end with '/', and hold only letters, digits, '-', '_' and '/'");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
