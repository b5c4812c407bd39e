namespace CompGrid.Docker.Jobs;

/// <summary>The parts of an image reference (<c>[registry/]repository[:tag|@digest]</c>) the backend decides on.</summary>
internal static class ImageReference
{
    /// <summary>Docker Hub, the registry of a reference without a registry part.</summary>
    public const string DockerHub = "docker.io";

    /// <summary>
    /// The registry an image is pulled from, as the Docker CLI reads it: the first path component when it holds a
    /// <c>.</c> or a <c>:</c> or is <c>localhost</c>, else Docker Hub. Lower-cased; Docker Hub's aliases become <c>docker.io</c>.
    /// </summary>
    public static string Registry(string image)
    {
        int slash = image.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0) return DockerHub;
        string first = image[..slash];
        return first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"
            ? NormalizeRegistry(first) : DockerHub;
    }

    /// <summary>Lower-cases a registry host and maps Docker Hub's aliases to <c>docker.io</c>.</summary>
    public static string NormalizeRegistry(string registry)
    {
        string r = registry.Trim().TrimEnd('/').ToLowerInvariant();
        if (r.StartsWith("https://", StringComparison.Ordinal)) r = r["https://".Length..];
        return r is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? DockerHub : r;
    }

    /// <summary>Whether <paramref name="image"/> may be used under <paramref name="allowed"/> (empty: any registry).</summary>
    public static bool IsAllowed(string image, IEnumerable<string> allowed)
    {
        string registry = Registry(image);
        bool any = false;
        foreach (string a in allowed)
        {
            any = true;
            if (NormalizeRegistry(a) == registry) return true;
        }
        return !any;
    }

    /// <summary>The credential of the image's own registry, or null: a credential never goes to another registry.</summary>
    public static DockerRegistryCredential? CredentialFor(string image, IEnumerable<DockerRegistryCredential> credentials)
    {
        string registry = Registry(image);
        return credentials.FirstOrDefault(c => NormalizeRegistry(c.Registry) == registry);
    }

    /// <summary>Splits <c>repo[:tag|@digest]</c> into name and tag (default <c>latest</c>), keeping registry ports intact.</summary>
    public static (string Name, string Tag) Split(string image)
    {
        int at = image.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0) return (image[..at], image[(at + 1)..]);
        int slash = image.LastIndexOf('/');
        int colon = image.LastIndexOf(':');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }
}
