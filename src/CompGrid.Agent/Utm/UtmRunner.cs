using System.Diagnostics;
using CompGrid.Agents;
using CompGrid.Agents.Protocol;
using Microsoft.Extensions.Logging;

namespace CompGrid.Agent;

/// <summary>
/// Runs the portal's <c>utmctl</c> requests on this Mac: only when enabled, only the commands of
/// <see cref="UtmCommand"/>, with an argument list (never a shell) and the VM name after <c>--</c>. Every failure becomes
/// a response with an error; nothing here throws back into the connection.
/// </summary>
internal sealed class UtmRunner(UtmOptions options, TimeProvider time, ILogger logger)
{
    public bool Enabled => options.Enabled;

    public async Task<UtmResponse> RunAsync(UtmRequest request, CancellationToken cancellationToken)
    {
        var response = new UtmResponse { RequestId = request.RequestId };
        if (!options.Enabled) return response with { Error = "utmctl is not enabled on this agent (set Agent:Utm:Enabled)" };
        if (!Enum.IsDefined(request.Command)) return response with { Error = $"unknown UTM command {(int)request.Command}" };
        if (request.Command != UtmCommand.List && UtmCommandLine.Refusal(request.Vm) is { } refusal) return response with { Error = refusal };

        var args = UtmCommandLine.Arguments(request.Command, request.Vm);
        var (exit, stdout, stderr) = await RunProcessAsync(args, cancellationToken).ConfigureAwait(false);
        Log.UtmCommand(logger, string.Join(' ', args), exit);
        if (exit != 0)
        {
            string message = (stderr.Trim() is { Length: > 0 } e ? e : stdout.Trim()) is { Length: > 0 } m ? m : $"utmctl exited with {exit}";
            return response with { Error = message.Length > 500 ? message[..500] : message };
        }
        return request.Command switch
        {
            UtmCommand.List => response with { Vms = UtmCommandLine.ParseList(stdout) },
            UtmCommand.Status => response with { Status = UtmCommandLine.ParseStatus(stdout) },
            UtmCommand.IpAddress => response with { Addresses = UtmCommandLine.ParseAddresses(stdout) },
            _ => response,
        };
    }

    private async Task<(int Exit, string Stdout, string Stderr)> RunProcessAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(options.UtmctlPath)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (string a in args) psi.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(psi) ?? throw new InvalidOperationException("no process"); }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return (-1, "", $"cannot run Agent:Utm:UtmctlPath '{options.UtmctlPath}': {ex.Message}");
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = new CancellationTokenSource(options.CommandTimeout, time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
            try { await process.WaitForExitAsync(linked.Token).ConfigureAwait(false); }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* exited meanwhile */ }
                if (cancellationToken.IsCancellationRequested) throw;
                return (-1, "", $"utmctl did not answer within {options.CommandTimeout.TotalSeconds} s (is the Mac user's GUI session logged in?)");
            }
            return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }
}
