using System.Text.RegularExpressions;
using CompGrid.Docker.Engine;
using CompGrid.Docker.Jobs;
using Microsoft.Extensions.Options;

namespace CompGrid.Docker;

/// <summary>Validates <see cref="DockerBackendOptions"/> at start-up with messages naming the setting and the rule.</summary>
internal sealed partial class DockerBackendOptionsValidator(string name) : IValidateOptions<DockerBackendOptions>
{
    public ValidateOptionsResult Validate(string? optionsName, DockerBackendOptions options)
    {
        if (optionsName != name) return ValidateOptionsResult.Skip;
        var problems = Check(name, options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    private static partial Regex NodeName();

    private static List<string> Check(string backend, DockerBackendOptions o)
    {
        var p = new List<string>();
        string at = $"Docker backend '{backend}': ";
        if (o.Engines.Count == 0) p.Add(at + "Engines must list at least one engine (Name and Endpoint).");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.Engines.Count; i++)
        {
            var e = o.Engines[i];
            string field = $"{at}Engines[{i}]";
            if (string.IsNullOrWhiteSpace(e.Name) || !NodeName().IsMatch(e.Name)) p.Add($"{field}.Name must be letters, digits, '.', '_' or '-' (got '{e.Name}').");
            else if (!seen.Add(e.Name)) p.Add($"{field}.Name '{e.Name}' is used by two engines; node names must be unique.");
            if (DockerEndpoint.TryParse(e.Endpoint, e.Tls is not null, out string? error) is null) p.Add($"{field}.Endpoint {error}.");
            if (e.Cpus is <= 0) p.Add($"{field}.Cpus must be positive when set.");
            if (e.MemoryMiB is <= 0) p.Add($"{field}.MemoryMiB must be positive when set.");
            if (e.Gpus < 0) p.Add($"{field}.Gpus must not be negative.");
            if (e.Tls is { } tls && !string.IsNullOrEmpty(tls.ClientCertificateFile) && string.IsNullOrEmpty(tls.ClientKeyFile))
                p.Add($"{field}.Tls.ClientKeyFile is required with ClientCertificateFile.");
        }
        if (o.User is not null && ContainerRequestBuilder.ParseUser(o.User) is null) p.Add(at + $"User must be numeric 'uid[:gid]' (got '{o.User}'), or null for the image's user.");
        if (!o.JobVolumePath.StartsWith('/') || o.JobVolumePath.TrimEnd('/').Length == 0) p.Add(at + $"JobVolumePath must be an absolute path other than '/' (got '{o.JobVolumePath}').");
        if (!o.WorkingDirectory.StartsWith('/')) p.Add(at + $"WorkingDirectory must be an absolute path (got '{o.WorkingDirectory}').");
        if (o.NetworkMode is { } network)
        {
            if (string.IsNullOrWhiteSpace(network)) p.Add(at + "NetworkMode must be a network name, or null for no network.");
            else if (network == "host" || network.StartsWith("container:", StringComparison.Ordinal))
                p.Add(at + $"NetworkMode must name a network; '{network}' would share the host's or another container's network.");
        }
        for (int i = 0; i < o.AllowedRegistries.Count; i++)
            if (string.IsNullOrWhiteSpace(o.AllowedRegistries[i]) || o.AllowedRegistries[i].Contains('/', StringComparison.Ordinal) && !o.AllowedRegistries[i].StartsWith("https://", StringComparison.Ordinal))
                p.Add($"{at}AllowedRegistries[{i}] must be a registry host such as registry.example.edu:5000 (got '{o.AllowedRegistries[i]}').");
        if (o.DefaultImage is { Length: > 0 } defaultImage && !ImageReference.IsAllowed(defaultImage, o.AllowedRegistries))
            p.Add(at + $"DefaultImage '{defaultImage}' comes from the registry '{ImageReference.Registry(defaultImage)}', which AllowedRegistries does not list.");
        var registries = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < o.RegistryCredentials.Count; i++)
        {
            var c = o.RegistryCredentials[i];
            if (string.IsNullOrWhiteSpace(c.Registry)) p.Add($"{at}RegistryCredentials[{i}].Registry is required.");
            else if (!registries.Add(ImageReference.NormalizeRegistry(c.Registry))) p.Add($"{at}RegistryCredentials[{i}].Registry '{c.Registry}' has two credentials.");
            if (string.IsNullOrEmpty(c.IdentityToken) && string.IsNullOrEmpty(c.Username)) p.Add($"{at}RegistryCredentials[{i}] needs Username (and Password) or IdentityToken.");
        }
        if (o.MaxOutputBytes <= 0) p.Add(at + $"MaxOutputBytes must be positive (got {o.MaxOutputBytes}).");
        if (o.MaxOutputFiles <= 0) p.Add(at + $"MaxOutputFiles must be positive (got {o.MaxOutputFiles}).");
        if (o.PidsLimit <= 0) p.Add(at + "PidsLimit must be positive.");
        if (o.MaxLogBytes <= 0) p.Add(at + "MaxLogBytes must be positive.");
        if (o.DefaultImage is { } image && string.IsNullOrWhiteSpace(image)) p.Add(at + "DefaultImage must not be blank (null disables non-container payloads).");
        foreach (var (n, v) in new[] { ("StopTimeout", o.StopTimeout), ("RequestTimeout", o.RequestTimeout), ("HealthCheckInterval", o.HealthCheckInterval), ("HealthCheckTimeout", o.HealthCheckTimeout), ("EngineDownAfter", o.EngineDownAfter), ("StatsInterval", o.StatsInterval) })
            if (v <= TimeSpan.Zero) p.Add($"{at}{n} must be positive (got {v}).");
        if (!Version.TryParse(o.MaxApiVersion, out var max)) p.Add(at + $"MaxApiVersion must look like 1.47 (got '{o.MaxApiVersion}').");
        else if (max < DockerEngineClient.ParseVersion(DockerEngineClient.MinimumApiVersion)) p.Add(at + $"MaxApiVersion must be {DockerEngineClient.MinimumApiVersion} or newer (got {o.MaxApiVersion}).");
        return p;
    }
}
