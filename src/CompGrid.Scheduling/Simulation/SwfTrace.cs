using System.Globalization;
using System.IO.Compression;

namespace CompGrid.Simulation;

/// <summary>
/// One job of a trace in the Standard Workload Format (SWF) of the Parallel Workloads Archive: all 18 fields, with -1
/// (or null here) for "unknown". Times are in seconds, memory in KB, as the format defines them.
/// </summary>
public sealed record SwfJob
{
    /// <summary>Field 1: the job number.</summary>
    public long JobNumber { get; init; }
    /// <summary>Field 2: submit time, seconds from the trace start.</summary>
    public long SubmitTime { get; init; }
    /// <summary>Field 3: wait time in seconds (-1 unknown).</summary>
    public long WaitTime { get; init; } = -1;
    /// <summary>Field 4: actual run time in seconds (-1 unknown).</summary>
    public long RunTime { get; init; } = -1;
    /// <summary>Field 5: number of allocated processors (-1 unknown).</summary>
    public int AllocatedProcessors { get; init; } = -1;
    /// <summary>Field 6: average CPU time used per processor, seconds (-1 unknown).</summary>
    public double AverageCpuTime { get; init; } = -1;
    /// <summary>Field 7: used memory per processor, KB (-1 unknown).</summary>
    public long UsedMemoryKB { get; init; } = -1;
    /// <summary>Field 8: requested number of processors (-1 unknown).</summary>
    public int RequestedProcessors { get; init; } = -1;
    /// <summary>Field 9: requested time (walltime limit), seconds (-1 unknown).</summary>
    public long RequestedTime { get; init; } = -1;
    /// <summary>Field 10: requested memory per processor, KB (-1 unknown).</summary>
    public long RequestedMemoryKB { get; init; } = -1;
    /// <summary>Field 11: status (1 completed, 0 failed, 5 cancelled; -1 unknown).</summary>
    public int Status { get; init; } = -1;
    /// <summary>Field 12: user id.</summary>
    public int UserId { get; init; } = -1;
    /// <summary>Field 13: group id.</summary>
    public int GroupId { get; init; } = -1;
    /// <summary>Field 14: executable (application) number.</summary>
    public int ExecutableNumber { get; init; } = -1;
    /// <summary>Field 15: queue number.</summary>
    public int QueueNumber { get; init; } = -1;
    /// <summary>Field 16: partition number.</summary>
    public int PartitionNumber { get; init; } = -1;
    /// <summary>Field 17: preceding job number (-1 none).</summary>
    public long PrecedingJobNumber { get; init; } = -1;
    /// <summary>Field 18: think time from the preceding job, seconds (-1 none).</summary>
    public long ThinkTime { get; init; } = -1;

    /// <summary>The processors the job asked for: field 8, or field 5 when 8 is unknown.</summary>
    public int Processors => RequestedProcessors > 0 ? RequestedProcessors : AllocatedProcessors;
}

/// <summary>A parsed SWF trace: the header comments (<c>; Key: value</c>) and the jobs in file order.</summary>
public sealed class SwfTrace
{
    /// <summary>Header fields such as <c>MaxNodes</c>, <c>MaxProcs</c>, <c>UnixStartTime</c> (first value of each key).</summary>
    public IReadOnlyDictionary<string, string> Header { get; }

    /// <summary>The jobs.</summary>
    public IReadOnlyList<SwfJob> Jobs { get; }

    private SwfTrace(IReadOnlyDictionary<string, string> header, IReadOnlyList<SwfJob> jobs) { Header = header; Jobs = jobs; }

    /// <summary><c>MaxProcs</c> from the header, or null.</summary>
    public int? MaxProcessors => HeaderInt("MaxProcs");

    /// <summary><c>MaxNodes</c> from the header, or null.</summary>
    public int? MaxNodes => HeaderInt("MaxNodes");

    private int? HeaderInt(string key) =>
        Header.TryGetValue(key, out string? v) && int.TryParse(v.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : null;

    /// <summary>Reads a trace file (<c>.swf</c>, or gzip-compressed <c>.swf.gz</c>).</summary>
    public static SwfTrace Load(string path, int? maxJobs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        return Parse(reader, maxJobs);
    }

    /// <summary>Parses a trace. Lines starting with <c>;</c> are header comments; every other non-empty line is one job of 18 fields.</summary>
    public static SwfTrace Parse(TextReader reader, int? maxJobs = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var header = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var jobs = new List<SwfJob>();
        int lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            string t = line.Trim();
            if (t.Length == 0) continue;
            if (t[0] == ';')
            {
                int colon = t.IndexOf(':', StringComparison.Ordinal);
                if (colon > 1)
                {
                    string key = t[1..colon].Trim();
                    if (key.Length > 0 && !key.Contains(' ', StringComparison.Ordinal)) header.TryAdd(key, t[(colon + 1)..].Trim());
                }
                continue;
            }
            if (maxJobs is { } max && jobs.Count >= max) break;
            string[] f = t.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 18) throw new FormatException($"SWF line {lineNo}: expected 18 fields, found {f.Length}.");
            long L(int i) => long.TryParse(f[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? v
                : double.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? (long)d
                : throw new FormatException($"SWF line {lineNo}, field {i + 1}: '{f[i]}' is not a number.");
            int I(int i) => (int)L(i);
            double D(int i) => double.TryParse(f[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d
                : throw new FormatException($"SWF line {lineNo}, field {i + 1}: '{f[i]}' is not a number.");
            jobs.Add(new SwfJob
            {
                JobNumber = L(0), SubmitTime = L(1), WaitTime = L(2), RunTime = L(3), AllocatedProcessors = I(4), AverageCpuTime = D(5),
                UsedMemoryKB = L(6), RequestedProcessors = I(7), RequestedTime = L(8), RequestedMemoryKB = L(9), Status = I(10),
                UserId = I(11), GroupId = I(12), ExecutableNumber = I(13), QueueNumber = I(14), PartitionNumber = I(15),
                PrecedingJobNumber = L(16), ThinkTime = L(17),
            });
        }
        return new SwfTrace(header, jobs);
    }
}
