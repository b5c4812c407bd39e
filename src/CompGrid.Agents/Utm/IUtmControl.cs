using CompGrid.Agents.Protocol;

namespace CompGrid.Agents;

/// <summary>
/// Drives UTM on the Macs that run the CompGrid agent with <c>Agent:Utm:Enabled</c>: each call is one <c>utmctl</c>
/// command, sent over that machine's authenticated agent channel and answered by the agent. Never an open endpoint on
/// the Mac, never AppleScript. Convenience methods are in <see cref="UtmControlExtensions"/>.
/// </summary>
public interface IUtmControl
{
    /// <summary>
    /// Runs <paramref name="command"/> for <paramref name="vm"/> (a VM name or UUID; empty for
    /// <see cref="UtmCommand.List"/>) through the agent of machine <paramref name="host"/> and returns its parsed answer.
    /// Throws <see cref="CompGridException"/>: <see cref="CompGridErrorCodes.Invalid"/> for a refused VM name (nothing is
    /// sent), <see cref="CompGridErrorCodes.Unavailable"/> (transient) when the host is not connected or does not run
    /// utmctl, <see cref="CompGridErrorCodes.Timeout"/> (transient) when it does not answer in time, and
    /// <see cref="CompGridErrorCodes.Unavailable"/> with utmctl's message when the command failed.
    /// </summary>
    Task<UtmResponse> RunAsync(string host, UtmCommand command, string vm = "", CancellationToken cancellationToken = default);
}

/// <summary>The <c>utmctl</c> commands as methods over <see cref="IUtmControl"/>.</summary>
public static class UtmControlExtensions
{
    /// <summary><c>utmctl list</c> on <paramref name="host"/>.</summary>
    public static async Task<IReadOnlyList<UtmVirtualMachine>> ListAsync(this IUtmControl utm, string host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utm);
        return (await utm.RunAsync(host, UtmCommand.List, "", cancellationToken).ConfigureAwait(false)).Vms;
    }

    /// <summary><c>utmctl status</c> of <paramref name="vm"/> on <paramref name="host"/>.</summary>
    public static async Task<UtmVmStatus> GetStatusAsync(this IUtmControl utm, string host, string vm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utm);
        return (await utm.RunAsync(host, UtmCommand.Status, vm, cancellationToken).ConfigureAwait(false)).Status ?? UtmVmStatus.Unknown;
    }

    /// <summary><c>utmctl start</c>: starts <paramref name="vm"/>, or resumes it when suspended.</summary>
    public static Task StartAsync(this IUtmControl utm, string host, string vm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utm);
        return utm.RunAsync(host, UtmCommand.Start, vm, cancellationToken);
    }

    /// <summary><c>utmctl suspend</c>: suspends <paramref name="vm"/> to memory.</summary>
    public static Task SuspendAsync(this IUtmControl utm, string host, string vm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utm);
        return utm.RunAsync(host, UtmCommand.Suspend, vm, cancellationToken);
    }

    /// <summary><c>utmctl stop</c>: <c>--request</c> asks the guest to shut down; <c>--force</c> (<paramref name="force"/>) powers it off.</summary>
    public static Task StopAsync(this IUtmControl utm, string host, string vm, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utm);
        return utm.RunAsync(host, force ? UtmCommand.Stop : UtmCommand.RequestStop, vm, cancellationToken);
    }

    /// <summary><c>utmctl ip-address</c>: the guest's addresses, IPv4 first (needs the guest agent in the VM).</summary>
    public static async Task<IReadOnlyList<string>> GetIpAddressesAsync(this IUtmControl utm, string host, string vm, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(utm);
        return (await utm.RunAsync(host, UtmCommand.IpAddress, vm, cancellationToken).ConfigureAwait(false)).Addresses;
    }
}
