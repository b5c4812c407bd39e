using System.Runtime.InteropServices;
using CompGrid.Local.Processes;

namespace CompGrid.Local.Sandbox;

/// <summary>An OS account a job runs as.</summary>
internal sealed record RunAsAccount(string Name, uint Uid, uint Gid, string Home);

/// <summary>Looks accounts up in the system's password database (files, LDAP, SSSD: whatever NSS is configured with).</summary>
internal static class Accounts
{
    internal const string DefaultRunAsUser = "nobody";
    private static readonly object s_gate = new(); // getpwnam returns a static buffer

    internal static RunAsAccount? Find(string name)
    {
        lock (s_gate)
        {
            IntPtr p = Libc.GetPwNam(name);
            if (p == IntPtr.Zero) return null;
            var pw = Marshal.PtrToStructure<Libc.Passwd>(p);
            return new RunAsAccount(name, pw.Uid, pw.Gid, Marshal.PtrToStringUTF8(pw.Home) ?? "/");
        }
    }
}
