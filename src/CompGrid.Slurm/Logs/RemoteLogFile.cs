using System.Globalization;
using System.Text;
using CompGrid.Slurm.Cli;

namespace CompGrid.Slurm.Logs;

/// <summary>
/// Reads a job's output file on the login node with the same rules as <see cref="LocalLogFile"/>, as one fixed script
/// run by <c>sh -c</c> whose inputs are positional arguments (quoted words; nothing of them is parsed as shell): the
/// directory is resolved (<c>cd -P</c>), the file must be a single name in it and a regular file with one link
/// (<c>stat</c> without following links), and it is read by GNU <c>dd</c> with <c>iflag=nofollow,nonblock</c>, so a link
/// or FIFO swapped in after the check fails the read instead of following it or blocking. Only the last
/// <c>maxBytes</c> are read; the first output line is the file's size, so the caller knows whether it was cut.
/// </summary>
internal static class RemoteLogFile
{
    private const int Missing = 66;
    private const int Refused = 65;

    // $1 directory, $2 file name, $3 byte limit.
    private const string Script =
        """
        set -u
        case $2 in ''|.|..|*/*) echo "not a single file name: $2" >&2; exit 65;; esac
        dir=$(cd -P -- "$1" 2>/dev/null && pwd -P) || exit 66
        f="$dir/$2"
        t=$(stat -c '%F %h %s' -- "$f" 2>/dev/null) || exit 66
        case $t in
          'regular file 1 '*|'regular empty file 1 '*) ;;
          *) echo "$f is not a regular file with one link ($t); it is not read" >&2; exit 65;;
        esac
        size=${t##* }
        skip=0; [ "$size" -gt "$3" ] && skip=$((size - $3))
        printf '%s\n' "$size"
        dd if="$f" iflag=nofollow,nonblock,skip_bytes,count_bytes skip="$skip" count="$3" status=none 2>/dev/null || {
          echo "$f changed while it was read (a link or FIFO swapped in); it is not read" >&2; exit 65; }
        """;

    /// <summary>The argument list of <c>sh</c> (tests check it stays argument-safe).</summary>
    public static IReadOnlyList<string> Arguments(string directory, string fileName, int maxBytes) =>
        ["-c", Script, "compgrid-log", directory, fileName, maxBytes.ToString(CultureInfo.InvariantCulture)];

    public static async Task<(string Text, bool Truncated)?> ReadTailAsync(ICommandRunner runner, string directory, string fileName, int maxBytes,
        string backend, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync("sh", Arguments(directory, fileName, maxBytes), null, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode == Missing) return null;
        if (result.ExitCode == Refused)
            throw new CompGridException("Slurm log refused: " + result.Stderr.Trim()) { Backend = backend, Operation = "logs", Code = CompGridErrorCodes.UnsafeLogFile };
        if (!result.Success) throw SlurmErrors.FromCli(result, backend, "logs", null, runner.Location);
        int newline = result.Stdout.IndexOf('\n', StringComparison.Ordinal);
        if (newline < 0 || !long.TryParse(result.Stdout.AsSpan(0, newline), NumberStyles.None, CultureInfo.InvariantCulture, out long size))
            throw new CompGridException($"The log reader printed no size: '{result.Stdout[..Math.Min(80, result.Stdout.Length)]}'")
            { Backend = backend, Operation = "logs", Code = CompGridErrorCodes.UnexpectedOutput };
        string text = result.Stdout[(newline + 1)..];
        // dd never reads more than the limit; the check only guards against a reader that misbehaves.
        if (Encoding.UTF8.GetByteCount(text) > maxBytes) text = text[^maxBytes..];
        return (text, size > maxBytes);
    }
}
