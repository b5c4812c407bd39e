using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CompGrid.Local.Supervision;

/// <summary>
/// Reads and writes the supervisor's records of each job in <c>supervisor/&lt;id&gt;/</c>: the record, markers
/// (<c>cancelled</c>, <c>timedout</c>, <c>ended</c>, <c>completed</c>), the exit status the wrapper's own wait saw,
/// the measured usage and the logs. Only root (the host) can write there; nothing is read from the job's directory.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class SupervisorStore(LocalLayout layout, TimeProvider time)
{
    internal const string Stdout = "stdout", Stderr = "stderr", Exit = "exit", Times = "times";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    internal static partial Regex SafeId();

    public string Dir(string id) => layout.SupervisorDir(id);

    public string File(string id, string name) => Path.Combine(Dir(id), name);

    public IEnumerable<string> Ids() => Directory.EnumerateDirectories(layout.Supervisor).Select(Path.GetFileName).OfType<string>().Where(id => SafeId().IsMatch(id));

    public LocalJobRecord? Read(string id)
    {
        if (!SafeId().IsMatch(id)) return null;
        try { return JsonSerializer.Deserialize<LocalJobRecord>(System.IO.File.ReadAllText(File(id, "meta.json")), CompGridJson.Options); }
        catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException) { return null; }
    }

    public void Write(LocalJobRecord record) => WriteAtomic(record.JobId, "meta.json", JsonSerializer.Serialize(record, CompGridJson.Options));

    public bool Has(string id, string marker) => System.IO.File.Exists(File(id, marker));

    public void Mark(string id, string marker)
    {
        if (!Has(id, marker)) WriteAtomic(id, marker, time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
    }

    public DateTimeOffset? ReadTime(string id, string marker)
    {
        try { return DateTimeOffset.Parse(System.IO.File.ReadAllText(File(id, marker)).Trim(), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind); }
        catch (Exception ex) when (ex is IOException or FormatException) { return null; }
    }

    public int? ReadExit(string id)
    {
        try { return int.Parse(System.IO.File.ReadAllText(File(id, Exit)).Trim(), CultureInfo.InvariantCulture); }
        catch (Exception ex) when (ex is IOException or FormatException or OverflowException) { return null; }
    }

    public void WriteExitIfMissing(string id, int code)
    {
        if (!Has(id, Exit)) WriteAtomic(id, Exit, code.ToString(CultureInfo.InvariantCulture));
    }

    public JobUsage? ReadUsage(string id)
    {
        try { return JsonSerializer.Deserialize<JobUsage>(System.IO.File.ReadAllText(File(id, "usage.json")), CompGridJson.Options); }
        catch (Exception ex) when (ex is IOException or JsonException) { return null; }
    }

    public void WriteUsage(string id, JobUsage usage) => WriteAtomic(id, "usage.json", JsonSerializer.Serialize(usage, CompGridJson.Options));

    public void WriteLines(string id, string name, IEnumerable<string> lines) => System.IO.File.WriteAllLines(File(id, name), lines);

    private void WriteAtomic(string id, string name, string text)
    {
        string path = File(id, name);
        System.IO.File.WriteAllText(path + ".tmp", text);
        System.IO.File.Move(path + ".tmp", path, overwrite: true);
    }
}
