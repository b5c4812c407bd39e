using System.Diagnostics;

namespace CompGrid.Agents.Tests;

/// <summary>Starts a real <c>compgrid-agent</c> process (the test's build output) and keeps its output in a log file.</summary>
internal static class AgentProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "compgrid-agent.dll");

    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>The agent's arguments: portal, token file, workspace and the settings every test agent shares.</summary>
    public static List<string> Arguments(string portalUrl, string tokenFile, string workDirectory, int cpus, int memoryMiB, params string[] extra) =>
    [
        Dll, $"--Agent:PortalUrl={portalUrl}", $"--Agent:TokenFile={tokenFile}", $"--Agent:WorkDirectory={workDirectory}",
        $"--Agent:Cpus={cpus}", $"--Agent:MemoryMiB={memoryMiB}", "--Agent:PollInterval=00:00:00.200", "--Agent:MaxReconnectDelay=00:00:02", .. extra,
    ];

    /// <summary>Writes <paramref name="token"/> to a file only its owner can read.</summary>
    public static void WriteToken(string tokenFile, string token)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(tokenFile)!);
        File.WriteAllText(tokenFile, token);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(tokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>Starts <paramref name="program"/> with <paramref name="arguments"/>; its output goes to <paramref name="logFile"/>.</summary>
    public static Process Start(string program, IEnumerable<string> arguments, string logFile)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var log = new StreamWriter(logFile) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The last lines of a log another process may still be writing.</summary>
    public static string Tail(string path, int lines = 15)
    {
        if (!File.Exists(path)) return "(no output)";
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return string.Join("\n", new StreamReader(s).ReadToEnd().Split('\n').TakeLast(lines));
    }
}
