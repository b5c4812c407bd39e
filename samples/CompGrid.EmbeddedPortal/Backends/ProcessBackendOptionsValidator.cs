using Microsoft.Extensions.Options;

namespace CompGrid.EmbeddedPortal.Backends;

/// <summary>The one validator of <see cref="ProcessBackendOptions"/>: used by DI (<c>ValidateOnStart</c>) and by <see cref="ProcessBackend.Create"/>.</summary>
internal sealed class ProcessBackendOptionsValidator : IValidateOptions<ProcessBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, ProcessBackendOptions options)
    {
        var errors = Errors(name ?? "proc", options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(string name, ProcessBackendOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var e = new List<string>();
        string p = $"Process backend '{name}': ";
        if (string.IsNullOrWhiteSpace(o.WorkDirectory) || !Path.IsPathRooted(o.WorkDirectory)) e.Add(p + "WorkDirectory must be an absolute path.");
        if (string.IsNullOrWhiteSpace(o.NodeName)) e.Add(p + "NodeName is required.");
        if (o.Cpus < 1) e.Add(p + "Cpus must be at least 1.");
        if (o.MemoryMiB < 1) e.Add(p + "MemoryMiB must be at least 1.");
        if (o.MaxLogBytes < 1) e.Add(p + "MaxLogBytes must be at least 1.");
        return e;
    }
}
