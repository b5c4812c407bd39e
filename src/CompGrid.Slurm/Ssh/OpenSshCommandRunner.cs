using System.Diagnostics;
using System.Globalization;
using CompGrid.Slurm.Cli;

namespace CompGrid.Slurm.Ssh;

/// <summary>
/// Runs Slurm commands on a login node with the system OpenSSH client: BatchMode, strict host-key checking against the
/// configured known_hosts only, key authentication, and one shared connection (ControlMaster) per backend. The remote
/// command is built from single-quoted words, so no argument is interpreted by the remote shell.
/// </summary>
internal sealed class OpenSshCommandRunner : ICommandRunner
{
    private readonly SlurmBackendOptions _options;
    private readonly string _backend;
    private readonly string? _controlPath;

    public OpenSshCommandRunner(SlurmBackendOptions options, string backend)
    {
        _options = options;
        _backend = backend;
        if (options.SshControlPersist > TimeSpan.Zero)
        {
            string dir = Path.Combine(Path.GetTempPath(), "compgrid-ssh-" + Environment.UserName);
            if (!Directory.Exists(dir))
            {
                if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
                else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            _controlPath = Path.Combine(dir, "%C");
        }
    }

    public string Location => $"{_options.SshUser}@{_options.SshHost}:{_options.SshPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The ssh argument list for a remote command (also used by tests to check the options).</summary>
    public IReadOnlyList<string> BuildArguments(string remoteCommand)
    {
        var args = CommonArguments();
        args.Add("--");
        args.Add(_options.SshHost!);
        args.Add(remoteCommand);
        return args;
    }

    /// <summary>The remote command line (see <see cref="RemoteCommandLine"/>).</summary>
    public string BuildRemoteCommand(string command, IReadOnlyList<string> arguments) => RemoteCommandLine.Build(_options, command, arguments);

    public Task<CommandResult> RunAsync(string command, IReadOnlyList<string> arguments, string? standardInput, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(_options.SshExecutable);
        foreach (string a in BuildArguments(BuildRemoteCommand(command, arguments))) psi.ArgumentList.Add(a);
        psi.Environment.Remove("SLURM_JWT");
        psi.Environment.Remove("SSH_AUTH_SOCK"); // the configured key only
        return ProcessRunner.RunAsync(psi, standardInput, _options.CommandTimeout + _options.SshConnectTimeout, _backend, command, cancellationToken);
    }

    private List<string> CommonArguments()
    {
        var o = _options;
        var args = new List<string>
        {
            "-T",
            "-p", o.SshPort.ToString(CultureInfo.InvariantCulture),
            "-l", o.SshUser!,
            "-i", o.SshIdentityFile!,
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "UserKnownHostsFile=" + o.SshKnownHostsFile,
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes",
            "-o", "PasswordAuthentication=no",
            "-o", "KbdInteractiveAuthentication=no",
            "-o", "ConnectTimeout=" + Math.Max(1, (int)o.SshConnectTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            "-o", "ServerAliveInterval=" + Math.Max(1, (int)o.SshKeepAliveInterval.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            "-o", "ServerAliveCountMax=3",
            "-o", "LogLevel=ERROR",
        };
        if (_controlPath is not null)
        {
            args.AddRange([
                "-o", "ControlMaster=auto",
                "-o", "ControlPath=" + _controlPath,
                "-o", "ControlPersist=" + Math.Max(1, (int)o.SshControlPersist.TotalSeconds).ToString(CultureInfo.InvariantCulture),
            ]);
        }
        else args.AddRange(["-o", "ControlMaster=no", "-o", "ControlPath=none"]);
        return args;
    }

    public async ValueTask DisposeAsync()
    {
        if (_controlPath is null) return;
        // Close the shared connection if one is open ("-O exit" fails harmlessly when none is).
        var psi = new ProcessStartInfo(_options.SshExecutable);
        var args = CommonArguments();
        args.AddRange(["-O", "exit", "--", _options.SshHost!]);
        foreach (string a in args) psi.ArgumentList.Add(a);
        try
        {
            await ProcessRunner.RunAsync(psi, null, TimeSpan.FromSeconds(5), _backend, "ssh-close", CancellationToken.None).ConfigureAwait(false);
        }
        catch (CompGridException)
        {
            // Closing is best effort; ControlPersist ends the master anyway.
        }
    }
}
