using System.Globalization;
using System.Runtime.InteropServices;
using CompGrid.Agents.Protocol;

namespace CompGrid.Agent;

/// <summary>What the agent offers: discovered from the machine, capped by the agent's settings.</summary>
internal static class MachineInfo
{
    public static AgentRegistration Discover(AgentOptions options) => new()
    {
        Hostname = Environment.MachineName,
        Cpus = options.Cpus ?? Environment.ProcessorCount,
        MemoryMiB = options.MemoryMiB ?? Math.Max(256, TotalMemoryMiB() * 9 / 10),
        Gpus = options.Gpus,
        GpuModel = options.GpuModel,
        Features = [.. options.Features],
        Os = RuntimeInformation.OSDescription,
        AgentVersion = typeof(MachineInfo).Assembly.GetName().Version?.ToString() ?? "0.0.0",
    };

    /// <summary>Total memory from <c>/proc/meminfo</c> on Linux; what the runtime sees elsewhere.</summary>
    private static long TotalMemoryMiB()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (!line.StartsWith("MemTotal:", StringComparison.Ordinal)) continue;
                string kib = line["MemTotal:".Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) / 1024;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024 * 1024);
    }
}
