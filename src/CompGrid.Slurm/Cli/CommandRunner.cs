using System.Diagnostics;
using System.Globalization;
using System.Text;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Cli;

/// <summary>The result of one command.</summary>
internal sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public bool Success => ExitCode == 0;
}

/// <summary>Runs a Slurm command with an argument list, locally or on a login node. Never builds a shell string from user input.</summary>
internal interface ICommandRunner : IAsyncDisposable
{
    /// <summary>Where commands run, for messages (<c>local</c>, <c>cgtest@login:22</c>).</summary>
    string Location { get; }

    /// <summary>Runs <paramref name="command"/> (a Slurm command name such as <c>sbatch</c>) with <paramref name="arguments"/>.</summary>
    Task<CommandResult> RunAsync(string command, IReadOnlyList<string> arguments, string? standardInput, CancellationToken cancellationToken);
}

/// <summary>Where Slurm's commands are: <see cref="SlurmBackendOptions.SlurmBinDirectory"/> applies to them only, not to helpers such as <c>tail</c>.</summary>
internal static class SlurmCommands
{
    private static readonly HashSet<string> Slurm = new(StringComparer.Ordinal) { "sbatch", "squeue", "scontrol", "scancel", "sacct", "sinfo" };

    public static string Resolve(string command, string? binDirectory) =>
        binDirectory is { Length: > 0 } dir && Slurm.Contains(command) ? dir.TrimEnd('/') + "/" + command : command;
}

/// <summary>Starts a process with an argument list, feeds stdin, captures output, enforces a timeout.</summary>
internal static class ProcessRunner
{
    public static async Task<CommandResult> RunAsync(ProcessStartInfo startInfo, string? standardInput, TimeSpan timeout,
        string backend, string operation, CancellationToken cancellationToken)
    {
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardInput = true;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.StandardOutputEncoding = Encoding.UTF8;
        startInfo.StandardErrorEncoding = Encoding.UTF8;
        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new CompGridException($"Cannot start '{startInfo.FileName}': {ex.Message}", ex)
            { Backend = backend, Operation = operation, Code = CompGridErrorCodes.CommandNotFound };
        }

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        var stdoutTask = process.StandardOutput.ReadToEndAsync(timeoutCts.Token);
        var stderrTask = process.StandardError.ReadToEndAsync(timeoutCts.Token);
        try
        {
            try
            {
                if (standardInput is not null)
                {
                    // A single write of the script text; the encoding has no preamble (UTF-8 without BOM).
                    await process.StandardInput.WriteAsync(standardInput.AsMemory(), timeoutCts.Token).ConfigureAwait(false);
                    await process.StandardInput.FlushAsync(timeoutCts.Token).ConfigureAwait(false);
                }
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The command exited without reading its input (ssh could not connect, sbatch refused an option): its exit
                // code and stderr tell why.
            }
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
            string stdout = await stdoutTask.ConfigureAwait(false);
            string stderr = await stderrTask.ConfigureAwait(false);
            return new CommandResult(process.ExitCode, stdout, stderr);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } // already exited
            cancellationToken.ThrowIfCancellationRequested();
            throw new CompGridException(
                $"'{Path.GetFileName(startInfo.FileName)}' did not finish within {timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.", ex)
            { Backend = backend, Operation = operation, IsTransient = true, Code = CompGridErrorCodes.Timeout };
        }
    }

    /// <summary>Environment every Slurm command gets: no <c>SLURM_JWT</c> (it would make the CLI try JWT), C locale, epoch times.</summary>
    public static void ApplySlurmEnvironment(IDictionary<string, string?> environment, string? slurmConf)
    {
        environment.Remove("SLURM_JWT");
        environment["LC_ALL"] = "C";
        environment["SLURM_TIME_FORMAT"] = "%s";
        if (slurmConf is not null) environment["SLURM_CONF"] = slurmConf;
    }
}

/// <summary>Runs Slurm commands on this machine.</summary>
internal sealed class LocalCommandRunner(SlurmBackendOptions options, string backend) : ICommandRunner
{
    public string Location => "local";

    public Task<CommandResult> RunAsync(string command, IReadOnlyList<string> arguments, string? standardInput, CancellationToken cancellationToken)
    {
        string file = SlurmCommands.Resolve(command, options.SlurmBinDirectory);
        var psi = new ProcessStartInfo(file);
        foreach (string a in arguments) psi.ArgumentList.Add(a);
        ProcessRunner.ApplySlurmEnvironment(psi.Environment, options.SlurmConf);
        return ProcessRunner.RunAsync(psi, standardInput, options.CommandTimeout, backend, command, cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
