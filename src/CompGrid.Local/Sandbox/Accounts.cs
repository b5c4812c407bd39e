using System.Runtime.InteropServices;
using CompGrid.Local.Processes;

namespace CompGrid.Local.Sandbox;

/// <summary>An OS account a job runs as.</summary>
/// <param name="Name">The account name, or <c>uid N</c> for an id of <c>JobUserIds</c>.</param>
/// <param name="Uid">The user id.</param>
/// <param name="Gid">The primary group id.</param>
/// <param name="Home">The home directory in the password database.</param>
/// <param name="PerJob">Whether the id was leased to this one job from <c>JobUserIds</c> (no account, no groups).</param>
internal sealed record RunAsAccount(string Name, uint Uid, uint Gid, string Home, bool PerJob = false);

/// <summary>Looks accounts up in the system's password database (files, LDAP, SSSD: whatever NSS is configured with).</summary>
internal static class Accounts
{
    internal const string DefaultRunAsUser = "nobody";
    private static readonly object s_gate = new(); // getpwnam returns a static buffer

    /// <summary>Whether the password database has an account with this uid.</summary>
    internal static bool UidExists(uint uid)
    {
        lock (s_gate) return Libc.GetPwUid(uid) != IntPtr.Zero;
    }

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
