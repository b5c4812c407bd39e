using CompGrid.Slurm.Cli;
using CompGrid.Slurm.Mapping;

namespace CompGrid.Slurm.Ssh;

/// <summary>
/// The command line sent to the login node's shell: a fixed environment (no <c>SLURM_JWT</c>, C locale, epoch times,
/// the configured <c>SLURM_CONF</c>), then the command and each argument as one single-quoted word, so the remote shell
/// interprets none of them. Shared by both SSH runners.
/// </summary>
internal static class RemoteCommandLine
{
    public static string Build(SlurmBackendOptions options, string command, IReadOnlyList<string> arguments)
    {
        var words = new List<string> { "env", "-u", "SLURM_JWT", "LC_ALL=C", "SLURM_TIME_FORMAT=%s" };
        if (options.SlurmConf is { } conf) words.Add("SLURM_CONF=" + conf);
        words.Add(SlurmCommands.Resolve(command, options.SlurmBinDirectory));
        words.AddRange(arguments);
        return ShellQuote.Join(words);
    }
}
