using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace CompGrid.Slurm.Logs;

/// <summary>
/// Reads a job's output file on this machine without trusting what the job did to it. The job owns the file and may
/// replace it with a symbolic link (to a key the portal can read), a FIFO (to block the reader), a hard link or a huge
/// file, so: the output directory is opened first and the file is opened relative to it by a single name (no path can
/// lead elsewhere), with <c>O_NOFOLLOW</c> (a link fails) and <c>O_NONBLOCK</c> (a FIFO cannot block the open); the
/// opened descriptor is then checked with <c>statx</c> (a regular file with one link) and its real path compared with
/// the directory's; only the last <c>maxBytes</c> are read. Every check is on the descriptor that is read, so nothing
/// can be swapped in between. Linux only.
/// </summary>
internal static partial class LocalLogFile
{
    private const int ENOENT = 2;
    private const int ELOOP = 40;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1, StatxNlink = 0x4, StatxSize = 0x200;
    private const int SIfMt = 0xF000, SIfReg = 0x8000;

    public static async Task<(string Text, bool Truncated)?> ReadTailAsync(string directory, string fileName, int maxBytes, string backend,
        CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
            throw Unsafe(backend, $"reading Slurm logs on this machine needs Linux (O_NOFOLLOW, statx); read them over SSH instead (LogAccess = Ssh).");
        if (fileName.Length == 0 || fileName.Contains('/', StringComparison.Ordinal) || fileName is "." or "..")
            throw Unsafe(backend, $"'{fileName}' is not a single file name.");
        var flags = Flags.ForThisMachine();

        using var dir = OpenDirectory(directory, flags, backend);
        if (dir is null) return null;
        int fd = OpenAt(dir.DangerousGetHandle().ToInt32(), fileName, flags.ReadOnly | flags.NoFollow | flags.NonBlock | flags.CloseOnExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ENOENT) return null;
            if (errno == ELOOP) throw Unsafe(backend, $"{directory}/{fileName} is a symbolic link; log files are never followed.");
            throw Unsafe(backend, $"cannot open {directory}/{fileName} (errno {errno}).");
        }
        using var handle = new SafeFileHandle(fd, ownsHandle: true);

        var stat = new byte[256];
        if (Statx(fd, "", AtEmptyPath, StatxType | StatxNlink | StatxSize, stat) != 0)
            throw Unsafe(backend, $"cannot stat {directory}/{fileName} (errno {Marshal.GetLastPInvokeError()}).");
        int mode = BitConverter.ToUInt16(stat, 28);
        uint links = BitConverter.ToUInt32(stat, 16);
        long size = (long)BitConverter.ToUInt64(stat, 40);
        if ((mode & SIfMt) != SIfReg)
            throw Unsafe(backend, $"{directory}/{fileName} is not a regular file (type {Convert.ToString(mode & SIfMt, 8)}); it is not read.");
        if (links != 1)
            throw Unsafe(backend, $"{directory}/{fileName} has {links} hard links; a log file has one, so it is not read.");
        string? dirReal = RealPath(dir.DangerousGetHandle().ToInt32());
        string? fileReal = RealPath(fd);
        if (dirReal is null || fileReal is null || !fileReal.StartsWith(dirReal.TrimEnd('/') + "/", StringComparison.Ordinal))
            throw Unsafe(backend, $"{directory}/{fileName} resolves to '{fileReal}', outside the output directory '{dirReal}'.");

        bool truncated = size > maxBytes;
        long offset = truncated ? size - maxBytes : 0;
        var buffer = new byte[Math.Min(size, maxBytes)];
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(read), offset + read, cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            read += n;
        }
        return (Encoding.UTF8.GetString(buffer, 0, read), truncated);
    }

    private static SafeFileHandle? OpenDirectory(string directory, Flags flags, string backend)
    {
        // The output directory is the operator's (it may itself be a link to a shared filesystem): follow it.
        int fd = Open(directory, flags.ReadOnly | flags.Directory | flags.CloseOnExec);
        if (fd >= 0) return new SafeFileHandle(fd, ownsHandle: true);
        int errno = Marshal.GetLastPInvokeError();
        if (errno == ENOENT) return null;
        throw Unsafe(backend, $"cannot open the output directory {directory} (errno {errno}).");
    }

    private static string? RealPath(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static CompGridException Unsafe(string backend, string message) =>
        new("Slurm log refused: " + message) { Backend = backend, Operation = "logs", Code = CompGridErrorCodes.UnsafeLogFile };

    /// <summary><c>open(2)</c> flag values differ between Linux architectures.</summary>
    private readonly record struct Flags(int ReadOnly, int NoFollow, int NonBlock, int CloseOnExec, int Directory)
    {
        public static Flags ForThisMachine() => RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => new(0, 0x20000, 0x800, 0x80000, 0x10000),
            Architecture.Arm64 or Architecture.Arm => new(0, 0x8000, 0x800, 0x80000, 0x4000),
            var a => throw new PlatformNotSupportedException($"Safe log reading knows the open(2) flags of x64, x86, arm and arm64, not {a}."),
        };
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenAt(int directoryFd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, [Out] byte[] buffer);
}
