using Microsoft.Extensions.Options;

namespace CompGrid.Sessions;

/// <summary>The one validator of <see cref="JupyterSessionOptions"/>: each failure names the setting and its rule.</summary>
public sealed class JupyterSessionOptionsValidator : IValidateOptions<JupyterSessionOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, JupyterSessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.JupyterPath) || !options.JupyterPath.StartsWith('/')) failures.Add("Sessions:Jupyter:JupyterPath: must be an absolute path");
        if (options.IdleLimit <= TimeSpan.Zero) failures.Add("Sessions:Jupyter:IdleLimit: must be positive");
        if (options.PollInterval <= TimeSpan.Zero) failures.Add("Sessions:Jupyter:PollInterval: must be positive");
        if (options.StartTimeout <= TimeSpan.Zero) failures.Add("Sessions:Jupyter:StartTimeout: must be positive");
        if (options.Walltime <= TimeSpan.Zero) failures.Add("Sessions:Jupyter:Walltime: must be positive");
        if (options.Cpus < 1) failures.Add("Sessions:Jupyter:Cpus: must be at least 1");
        if (options.MemoryMiB < 0) failures.Add("Sessions:Jupyter:MemoryMiB: must not be negative");
        if (options.PathPrefix is not { Length: > 1 } p || !p.StartsWith('/') || p.EndsWith('/') || !p.Skip(1).All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/'))
            failures.Add("Sessions:Jupyter:PathPrefix: must start with '/', not end with '/', and hold only letters, digits, '-', '_' and '/'");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
