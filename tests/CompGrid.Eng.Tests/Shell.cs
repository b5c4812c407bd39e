using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace CompGrid.Eng.Tests;

/// <summary>Runs programs with argument lists (never a shell string) and finds free loopback ports.</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}:\n{Output}";
    }

    /// <summary>Runs <paramref name="program"/> to its end (killed after <paramref name="timeout"/>), stdout and stderr together.</summary>
    public static async Task<Result> RunAsync(string program, IEnumerable<string> arguments, TimeSpan timeout,
        string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null) psi.Environment.Remove(key);
                else psi.Environment[key] = value;
            }
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {program}");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var lockObj = new object();
        void Append(string? line) { if (line is not null) lock (lockObj) output.AppendLine(line); }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Append($"(killed after {timeout.TotalSeconds:0} s)");
            return new Result(-1, output.ToString());
        }
        process.WaitForExit(); // drains the redirected streams
        lock (lockObj) return new Result(process.ExitCode, output.ToString());
    }

    /// <summary>A TCP port nothing listens on at 127.0.0.1 right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first base from <paramref name="from"/> (in steps of 10) whose next <paramref name="count"/> ports are free.</summary>
    public static int FreePortRange(int from, int count)
    {
        for (int b = from; b < 60000; b += 10)
        {
            if (Enumerable.Range(b + 1, count).All(IsFree)) return b;
        }
        throw new InvalidOperationException($"no {count} free ports from {from}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Whether the process exists and is not a zombie (as eng/lib.sh's cg_alive).</summary>
    public static bool IsAlive(int pid)
    {
        string stat = $"/proc/{pid}/stat";
        try
        {
            string text = File.ReadAllText(stat);
            // "pid (comm) S ...": the state follows the last ')'.
            return text[(text.LastIndexOf(')') + 2)..].FirstOrDefault() != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }
}
