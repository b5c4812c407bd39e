using System.Diagnostics;
using System.Globalization;

namespace CompGrid.Agent;

/// <summary>Idle time of the X session from <c>xprintidle</c> (milliseconds since the last input), for desktops whose users never touch a tty.</summary>
internal sealed class XprintidleIdleSource(string path) : IIdleSource
{
    /// <summary>The <c>xprintidle</c> on <c>PATH</c>, or null.</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "xprintidle")).FirstOrDefault(File.Exists);

    public async ValueTask<TimeSpan?> GetIdleTimeAsync(CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        try
        {
            using var process = Process.Start(psi);
            if (process is null) return null;
            string output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return process.ExitCode == 0 && long.TryParse(output.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long ms) ? TimeSpan.FromMilliseconds(ms) : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; } // no display, or it went away
    }
}
