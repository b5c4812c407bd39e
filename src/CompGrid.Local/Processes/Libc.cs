using System.Runtime.InteropServices;

namespace CompGrid.Local.Processes;

/// <summary>The few libc calls .NET does not expose: signals, ownership, the password database.</summary>
internal static partial class Libc
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    // lchown: never follow a link a job may have planted.
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LChown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "getpwnam", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr GetPwNam(string name);

    [LibraryImport("libc", EntryPoint = "getpwuid", SetLastError = true)]
    internal static partial IntPtr GetPwUid(uint uid);

    /// <summary>The start of <c>struct passwd</c> (glibc, 64-bit): name, password, uid, gid, gecos, home, shell.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Passwd
    {
        public IntPtr Name;
        public IntPtr Password;
        public uint Uid;
        public uint Gid;
        public IntPtr Gecos;
        public IntPtr Home;
        public IntPtr Shell;
    }
}
