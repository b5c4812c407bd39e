using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace CompGrid.VirtualMachines;

/// <summary>
/// An instance store in a folder: one JSON file per instance, replaced atomically (written beside it, flushed, then
/// renamed over it), so a crash leaves either the old record or the new one.
/// </summary>
public sealed partial class FileInstanceStore : IInstanceStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
    private readonly string _directory;

    /// <summary>Creates a store in <paramref name="directory"/> (created when missing, mode 0700 on Unix).</summary>
    public FileInstanceStore(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = Path.GetFullPath(directory);
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(_directory);
        else Directory.CreateDirectory(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    /// <inheritdoc/>
    public async Task<VirtualMachineInstance?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        // Ids name files: anything but the instance-id alphabet could leave the folder.
        if (id is null || !IdPattern().IsMatch(id)) return null;
        string path = PathOf(id);
        if (!File.Exists(path)) return null;
        var stream = File.OpenRead(path);
        await using (stream.ConfigureAwait(false))
            return await JsonSerializer.DeserializeAsync<VirtualMachineInstance>(stream, Json, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<VirtualMachineInstance>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<VirtualMachineInstance>();
        foreach (var file in Directory.EnumerateFiles(_directory, "*.json"))
        {
            if (await GetAsync(Path.GetFileNameWithoutExtension(file), cancellationToken).ConfigureAwait(false) is { } r) list.Add(r);
        }
        return [.. list.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal)];
    }

    /// <inheritdoc/>
    public async Task SaveAsync(VirtualMachineInstance instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        if (!IdPattern().IsMatch(instance.Id)) throw new JobValidationException("id", "must be 1-32 lower-case letters, digits or '-'.");
        string path = PathOf(instance.Id), temp = path + ".tmp";
        var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, instance, Json, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        File.Move(temp, path, overwrite: true);
    }

    private string PathOf(string id) => Path.Combine(_directory, id + ".json");
}
