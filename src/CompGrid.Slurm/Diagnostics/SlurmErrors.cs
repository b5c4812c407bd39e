using System.Globalization;
using CompGrid.Slurm.Cli;

namespace CompGrid.Slurm;

/// <summary>Turns Slurm's error messages (CLI stderr, REST <c>errors[]</c>) into <see cref="CompGridException"/>s with a code and <see cref="CompGridException.IsTransient"/>.</summary>
internal static class SlurmErrors
{
    // Messages of faults that may pass: controller restarting or busy, network trouble, slurmdbd unreachable.
    private static readonly string[] TransientMarkers =
    [
        "unable to contact slurm controller", "socket timed out", "connection refused", "connection timed out",
        "connection reset", "zero bytes were transmitted", "transport endpoint", "slurm_persist_conn_open",
        "resource temporarily unavailable", "temporarily unable", "slurmctld not responding", "not responding",
        "problem talking to the database", "unable to connect to database", "communication connection failure",
        "insufficient resources at the moment", "too many", "backup controller in standby", "slurm_load_ctl_conf",
        "slurmctld config is unable to load", "broken pipe", "no route to host", "network is unreachable",
        "protocol authentication error",
    ];

    public static bool IsInvalidJobId(string message) =>
        message.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase);

    public static bool IsAlreadyEnded(string message) =>
        message.Contains("already completing or completed", StringComparison.OrdinalIgnoreCase) ||
        message.Contains("Job/step already completed", StringComparison.OrdinalIgnoreCase);

    public static bool LooksTransient(string message)
    {
        string m = message.ToLowerInvariant();
        return TransientMarkers.Any(t => m.Contains(t, StringComparison.Ordinal));
    }

    public static CompGridException FromCli(CommandResult result, string backend, string operation, string? jobId, string location)
    {
        string stderr = result.Stderr.Trim();
        if (stderr.Length == 0) stderr = result.Stdout.Trim();
        if (stderr.Length > 800) stderr = stderr[..800] + "…";
        if (result.ExitCode == 255 && location != "local")
        {
            // ssh's own failures.
            if (stderr.Contains("Host key verification failed", StringComparison.OrdinalIgnoreCase) ||
                stderr.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED", StringComparison.OrdinalIgnoreCase) ||
                stderr.Contains("No ED25519 host key is known", StringComparison.OrdinalIgnoreCase) ||
                stderr.Contains("host key is known", StringComparison.OrdinalIgnoreCase))
                return Make($"SSH to {location}: the host key is not in the configured known_hosts file ({stderr}).", false, CompGridErrorCodes.SshHostKey);
            if (stderr.Contains("Permission denied", StringComparison.OrdinalIgnoreCase))
                return Make($"SSH to {location}: authentication failed ({stderr}).", false, CompGridErrorCodes.SshAuthentication);
            return Make($"SSH to {location} failed: {stderr}", true, CompGridErrorCodes.SshConnect);
        }
        return Classify(stderr, backend, operation, jobId,
            $"{operation} failed on {location} (exit {result.ExitCode.ToString(CultureInfo.InvariantCulture)}): {stderr}");

        CompGridException Make(string message, bool transient, string code) =>
            new(message) { Backend = backend, Operation = operation, JobId = jobId, IsTransient = transient, Code = code };
    }

    /// <summary>
    /// Classifies an SSH.NET failure: a rejected host key and failed authentication are not transient (retrying cannot
    /// help; the operator must fix known_hosts or the key); refused or dropped connections and timeouts are.
    /// </summary>
    public static CompGridException FromSsh(Exception ex, string backend, string operation, string location, bool hostKeyRejected)
    {
        if (hostKeyRejected)
            return Make($"SSH to {location}: the host key is not trusted ({ex.Message}).", false, CompGridErrorCodes.SshHostKey);
        return ex switch
        {
            Renci.SshNet.Common.SshAuthenticationException =>
                Make($"SSH to {location}: authentication failed ({ex.Message}).", false, CompGridErrorCodes.SshAuthentication),
            Renci.SshNet.Common.SshConnectionException { DisconnectReason: Renci.SshNet.Messages.Transport.DisconnectReason.HostKeyNotVerifiable } =>
                Make($"SSH to {location}: the host key is not trusted ({ex.Message}).", false, CompGridErrorCodes.SshHostKey),
            Renci.SshNet.Common.SshOperationTimeoutException or TimeoutException =>
                Make($"SSH to {location}: {operation} timed out ({ex.Message}).", true, "timeout"),
            System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.HostNotFound } =>
                Make($"SSH to {location}: the host name does not resolve ({ex.Message}).", false, CompGridErrorCodes.SshConnect),
            _ => Make($"SSH to {location} failed: {ex.Message}", true, CompGridErrorCodes.SshConnect),
        };

        CompGridException Make(string message, bool transient, string code) =>
            new(message, ex) { Backend = backend, Operation = operation, IsTransient = transient, Code = code };
    }

    /// <summary>Classifies a Slurm error text (CLI stderr or REST error description).</summary>
    public static CompGridException Classify(string text, string backend, string operation, string? jobId, string message, int? errorNumber = null)
    {
        string t = text.ToLowerInvariant();
        string? code = null;
        bool transient = false;
        if (errorNumber is 2002 || t.Contains("access/permission denied", StringComparison.Ordinal) || t.Contains("permission denied", StringComparison.Ordinal))
            return new CompGridForbiddenException(message) { Backend = backend, Operation = operation, JobId = jobId, Code = CompGridErrorCodes.PermissionDenied };
        if (errorNumber is 2045 || t.Contains("invalid account", StringComparison.Ordinal)) code = "invalid-account";
        else if (t.Contains("invalid partition", StringComparison.Ordinal)) code = "invalid-partition";
        else if (t.Contains("invalid qos", StringComparison.Ordinal)) code = "invalid-qos";
        else if (t.Contains("invalid generic resource", StringComparison.Ordinal) || t.Contains("invalid gres", StringComparison.Ordinal)) code = "invalid-gres";
        else if (t.Contains("requested node configuration is not available", StringComparison.Ordinal) ||
                 t.Contains("node count specification invalid", StringComparison.Ordinal) ||
                 t.Contains("more processors requested than permitted", StringComparison.Ordinal) ||
                 t.Contains("memory specification can not be satisfied", StringComparison.Ordinal)) code = "unsatisfiable";
        else if (t.Contains("time limit", StringComparison.Ordinal) && t.Contains("exceed", StringComparison.Ordinal)) code = "time-limit";
        else if (LooksTransient(t))
        {
            transient = true;
            code = "unavailable";
        }
        return new CompGridException(message) { Backend = backend, Operation = operation, JobId = jobId, IsTransient = transient, Code = code ?? "slurm-error" };
    }
}
