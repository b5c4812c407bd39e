using System.Collections;
using System.Globalization;

namespace CompGrid.PowerShell.Cmdlets;

/// <summary>The job parameters <c>Submit-CompGridJob</c> and <c>Get-CompGridQuote</c> share, turned into a <see cref="JobSpec"/>.</summary>
internal static class JobSpecParameters
{
    public static JobSpec Build(JobPayload? payload, string? name, string owner, int? cpus, long? memoryMiB, int? gpus, int? nodes,
        TimeSpan? walltime, string? account, string? backend, string? qos, Hashtable? environment, Hashtable? label) => new()
        {
            Name = name ?? "job",
            Owner = owner,
            Account = account,
            Payload = payload,
            Resources = new ResourceRequest { Cpus = cpus ?? 1, MemoryMiB = memoryMiB ?? 0, Gpus = gpus ?? 0, Nodes = nodes ?? 1 },
            Walltime = walltime,
            Qos = qos,
            Constraints = new JobConstraints { Backend = backend },
            Environment = ToDictionary(environment),
            Labels = ToDictionary(label),
        };

    private static Dictionary<string, string> ToDictionary(Hashtable? table)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        if (table is null) return d;
        foreach (DictionaryEntry e in table)
            d[Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? ""] = Convert.ToString(e.Value, CultureInfo.InvariantCulture) ?? "";
        return d;
    }
}
