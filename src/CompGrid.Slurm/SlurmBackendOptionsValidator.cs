using System.Text.RegularExpressions;
using CompGrid.Slurm.Mapping;
using CompGrid.Slurm.Rest;
using Microsoft.Extensions.Options;

namespace CompGrid.Slurm;

/// <summary>Validates <see cref="SlurmBackendOptions"/> at start-up with messages naming the option and the rule.</summary>
internal sealed partial class SlurmBackendOptionsValidator : IValidateOptions<SlurmBackendOptions>
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex SlurmName();

    [GeneratedRegex("^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SshWord();

    public ValidateOptionsResult Validate(string? name, SlurmBackendOptions options)
    {
        var errors = Errors(name ?? "", options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public static List<string> Errors(string name, SlurmBackendOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var e = new List<string>();
        string p = $"Slurm backend '{name}': ";
        if (string.IsNullOrWhiteSpace(o.OutputDirectory) || !o.OutputDirectory.StartsWith('/') || o.OutputDirectory.Any(char.IsControl))
            e.Add(p + "OutputDirectory is required: an absolute path on the cluster, shared by the nodes, where job output files go.");
        if (!Enum.IsDefined(o.Transport)) e.Add(p + $"Transport '{o.Transport}' is not one of Cli, Ssh, Rest.");

        bool needsSsh = o.Transport == SlurmTransport.Ssh || o.LogAccess == SlurmLogAccess.Ssh;
        if (o.Transport == SlurmTransport.Rest)
        {
            if (o.RestUrl is null || !o.RestUrl.IsAbsoluteUri || (o.RestUrl.Scheme != Uri.UriSchemeHttp && o.RestUrl.Scheme != Uri.UriSchemeHttps))
                e.Add(p + "RestUrl is required for the Rest transport: an absolute http(s) address of slurmrestd.");
            if (o.Token is null && o.TokenFile is null && o.JwtKeyFile is null)
                e.Add(p + "the Rest transport needs a credential: Token, TokenFile or JwtKeyFile.");
            if (o.RestApiVersion is { Length: > 0 } v && SlurmRestDialects.Find(v) is null)
                e.Add(p + $"RestApiVersion '{v}' is not supported; supported: {string.Join(", ", SlurmRestDialects.Supported.Select(d => d.Version))}.");
            if (o.TokenLifetime <= TimeSpan.FromMinutes(1)) e.Add(p + "TokenLifetime must be longer than 1 minute.");
            if (o.TokenRefreshMargin < TimeSpan.Zero || o.TokenRefreshMargin >= o.TokenLifetime) e.Add(p + "TokenRefreshMargin must be between 0 and TokenLifetime.");
            if (o.TokenUser is { } tu && !SlurmName().IsMatch(tu)) e.Add(p + "TokenUser must be a user name (letters, digits, '.', '_', '-').");
            if (o.RequestTimeout <= TimeSpan.Zero) e.Add(p + "RequestTimeout must be positive.");
            if (o.LogAccess == SlurmLogAccess.Auto && o.SshHost is not null) needsSsh = true;
        }
        if (needsSsh)
        {
            if (string.IsNullOrWhiteSpace(o.SshHost) || !SshWord().IsMatch(o.SshHost))
                e.Add(p + "SshHost is required for SSH (a host name or address, not starting with '-').");
            if (string.IsNullOrWhiteSpace(o.SshUser) || !SshWord().IsMatch(o.SshUser))
                e.Add(p + "SshUser is required for SSH (a user name, not starting with '-').");
            if (!Enum.IsDefined(o.SshClient)) e.Add(p + $"SshClient '{o.SshClient}' is not one of SshNet, OpenSsh.");
            if (o.SshClient == SshClientKind.OpenSsh)
            {
                if (string.IsNullOrWhiteSpace(o.SshIdentityFile)) e.Add(p + "SshIdentityFile is required for OpenSsh (a private key without passphrase).");
                if (o.SshPrivateKey is not null) e.Add(p + "SshPrivateKey (a stream) works with SshClient = SshNet only; OpenSsh needs SshIdentityFile.");
                if (o.SshPrivateKeyPassphrase is not null) e.Add(p + "SshPrivateKeyPassphrase works with SshClient = SshNet only; OpenSsh runs in BatchMode.");
                if (string.IsNullOrWhiteSpace(o.SshExecutable)) e.Add(p + "SshExecutable must name the OpenSSH client.");
            }
            else
            {
                if (string.IsNullOrWhiteSpace(o.SshIdentityFile) && o.SshPrivateKey is null)
                    e.Add(p + "SSH needs a private key: SshIdentityFile or SshPrivateKey.");
                if (o.SshPrivateKey is { CanRead: false }) e.Add(p + "SshPrivateKey must be a readable stream.");
            }
            if (o.SshKeepAliveInterval <= TimeSpan.Zero) e.Add(p + "SshKeepAliveInterval must be positive.");
            if (o.SshMaxChannels is < 1 or > 64) e.Add(p + "SshMaxChannels must be between 1 and 64.");
            if (string.IsNullOrWhiteSpace(o.SshKnownHostsFile)) e.Add(p + "SshKnownHostsFile is required for SSH: host keys are always checked strictly against it.");
            if (o.SshPort is < 1 or > 65535) e.Add(p + "SshPort must be between 1 and 65535.");
            if (o.SshConnectTimeout <= TimeSpan.Zero) e.Add(p + "SshConnectTimeout must be positive.");
            if (o.SshControlPersist < TimeSpan.Zero) e.Add(p + "SshControlPersist must not be negative.");
        }
        if (o.SlurmBinDirectory is { } bin && (bin.Length == 0 || bin.Any(char.IsControl))) e.Add(p + "SlurmBinDirectory must be a directory path.");
        if (o.SlurmConf is { } conf && (conf.Length == 0 || conf.Any(char.IsControl))) e.Add(p + "SlurmConf must be a file path.");
        if (o.CommandTimeout <= TimeSpan.Zero) e.Add(p + "CommandTimeout must be positive.");
        if (o.MaxLogBytes <= 0) e.Add(p + "MaxLogBytes must be positive.");
        if (o.MaxRetryAttempts is < 0 or > 20) e.Add(p + "MaxRetryAttempts must be between 0 and 20.");
        if (o.RetryBaseDelay < TimeSpan.Zero) e.Add(p + "RetryBaseDelay must not be negative.");
        if (o.CircuitBreakDuration < TimeSpan.FromMilliseconds(500)) e.Add(p + "CircuitBreakDuration must be at least 0.5 s.");
        if (o.CircuitFailureRatio is <= 0 or > 1) e.Add(p + "CircuitFailureRatio must be greater than 0 and at most 1.");
        if (o.AccountingWait < TimeSpan.Zero) e.Add(p + "AccountingWait must not be negative.");
        if (o.AccountingPollInterval <= TimeSpan.Zero) e.Add(p + "AccountingPollInterval must be positive.");
        foreach (var (k, v) in o.PartitionMapping)
            if (!SlurmName().IsMatch(v)) e.Add(p + $"PartitionMapping['{k}'] = '{v}' is not a Slurm partition name.");
        foreach (var (k, v) in o.AccountMapping)
            if (!SlurmName().IsMatch(v)) e.Add(p + $"AccountMapping['{k}'] = '{v}' is not a Slurm account name.");
        foreach (var (k, v) in o.UserMapping)
        {
            if (!SlurmName().IsMatch(v)) e.Add(p + $"UserMapping['{k}'] = '{v}' is not a user name.");
            else if (SlurmJobMapper.IsRootUser(v)) e.Add(p + $"UserMapping['{k}'] = '{v}': jobs are never submitted as root (user root or uid 0).");
        }
        if (o.SubmitAsJobOwner)
        {
            if (o.Transport != SlurmTransport.Rest)
                e.Add(p + "SubmitAsJobOwner works with the Rest transport only (a service token acting for each owner); CLI and SSH jobs run as the invoking or SSH user.");
            if (o.UserMapping.Count == 0)
                e.Add(p + "SubmitAsJobOwner needs UserMapping: an explicit portal user -> Slurm user entry for every owner allowed to submit.");
        }
        foreach (var (field, value) in new[] { ("DefaultPartition", o.DefaultPartition), ("GpuPartition", o.GpuPartition), ("DefaultAccount", o.DefaultAccount) })
            if (value is not null && !SlurmName().IsMatch(value)) e.Add(p + $"{field} '{value}' is not a Slurm name.");
        return e;
    }
}
