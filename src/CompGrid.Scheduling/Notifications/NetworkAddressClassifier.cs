using System.Net;
using System.Net.Sockets;

namespace CompGrid;

/// <summary>What kind of destination an IP address is, for deciding where outbound requests may go.</summary>
internal enum NetworkAddressScope
{
    /// <summary>A globally routable unicast address.</summary>
    Public,

    /// <summary>127.0.0.0/8, ::1.</summary>
    Loopback,

    /// <summary>10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7 (unique local), fec0::/10 (old site-local), 64:ff9b:1::/48 (local NAT64).</summary>
    Private,

    /// <summary>169.254.0.0/16 (cloud metadata services live here), fe80::/10.</summary>
    LinkLocal,

    /// <summary>100.64.0.0/10, the carrier-grade NAT shared address space.</summary>
    SharedAddressSpace,

    /// <summary>224.0.0.0/4, ff00::/8.</summary>
    Multicast,

    /// <summary>0.0.0.0/8 and :: (Linux connects 0.0.0.0 to the local host).</summary>
    Unspecified,

    /// <summary>255.255.255.255.</summary>
    Broadcast,

    /// <summary>Documentation, benchmarking, protocol-assignment, deprecated and unallocated ranges (240.0.0.0/4, 2001:db8::/32, ::/96 IPv4-compatible, …).</summary>
    Reserved,
}

/// <summary>
/// Classifies IP addresses (pure: no DNS, no traffic). IPv6 forms that carry an IPv4 address are classified by that
/// address: IPv4-mapped (<c>::ffff:10.0.0.1</c> is <see cref="NetworkAddressScope.Private"/>), NAT64 (<c>64:ff9b::/96</c>)
/// and 6to4 (<c>2002::/16</c>), so a private IPv4 destination cannot be reached through its IPv6 spelling.
/// </summary>
internal static class NetworkAddressClassifier
{
    private static readonly (IPNetwork Network, NetworkAddressScope Scope)[] s_v4 =
    [
        (IPNetwork.Parse("0.0.0.0/8"), NetworkAddressScope.Unspecified),
        (IPNetwork.Parse("10.0.0.0/8"), NetworkAddressScope.Private),
        (IPNetwork.Parse("100.64.0.0/10"), NetworkAddressScope.SharedAddressSpace),
        (IPNetwork.Parse("127.0.0.0/8"), NetworkAddressScope.Loopback),
        (IPNetwork.Parse("169.254.0.0/16"), NetworkAddressScope.LinkLocal),
        (IPNetwork.Parse("172.16.0.0/12"), NetworkAddressScope.Private),
        (IPNetwork.Parse("192.0.0.0/24"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("192.0.2.0/24"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("192.88.99.0/24"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("192.168.0.0/16"), NetworkAddressScope.Private),
        (IPNetwork.Parse("198.18.0.0/15"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("198.51.100.0/24"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("203.0.113.0/24"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("224.0.0.0/4"), NetworkAddressScope.Multicast),
        (IPNetwork.Parse("255.255.255.255/32"), NetworkAddressScope.Broadcast),
        (IPNetwork.Parse("240.0.0.0/4"), NetworkAddressScope.Reserved),
    ];

    private static readonly (IPNetwork Network, NetworkAddressScope Scope)[] s_v6 =
    [
        (IPNetwork.Parse("::/128"), NetworkAddressScope.Unspecified),
        (IPNetwork.Parse("::1/128"), NetworkAddressScope.Loopback),
        (IPNetwork.Parse("::/96"), NetworkAddressScope.Reserved), // IPv4-compatible, deprecated
        (IPNetwork.Parse("64:ff9b:1::/48"), NetworkAddressScope.Private),
        (IPNetwork.Parse("100::/64"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("2001:db8::/32"), NetworkAddressScope.Reserved),
        (IPNetwork.Parse("2001::/23"), NetworkAddressScope.Reserved), // Teredo, ORCHID and other protocol assignments
        (IPNetwork.Parse("fc00::/7"), NetworkAddressScope.Private),
        (IPNetwork.Parse("fe80::/10"), NetworkAddressScope.LinkLocal),
        (IPNetwork.Parse("fec0::/10"), NetworkAddressScope.Private),
        (IPNetwork.Parse("ff00::/8"), NetworkAddressScope.Multicast),
    ];

    private static readonly IPNetwork s_nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork s_6to4 = IPNetwork.Parse("2002::/16");
    private static readonly IPNetwork s_globalUnicast = IPNetwork.Parse("2000::/3");

    /// <summary>The scope of <paramref name="address"/>.</summary>
    public static NetworkAddressScope Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetwork) return ClassifyV4(address);
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return NetworkAddressScope.Reserved;
        if (address.IsIPv4MappedToIPv6) return ClassifyV4(address.MapToIPv4());
        var bytes = address.GetAddressBytes();
        if (s_nat64.Contains(address)) return ClassifyV4(new IPAddress(bytes.AsSpan(12, 4)));
        if (s_6to4.Contains(address)) return ClassifyV4(new IPAddress(bytes.AsSpan(2, 4)));
        foreach (var (network, scope) in s_v6)
            if (network.Contains(address)) return scope;
        return s_globalUnicast.Contains(address) ? NetworkAddressScope.Public : NetworkAddressScope.Reserved;
    }

    /// <summary>
    /// Whether a request may go to <paramref name="address"/>: it is <see cref="NetworkAddressScope.Public"/>, or it (or
    /// the IPv4 address it carries) lies in one of <paramref name="allowed"/>.
    /// </summary>
    public static bool IsAllowed(IPAddress address, IReadOnlyList<IPNetwork> allowed)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(allowed);
        if (Classify(address) == NetworkAddressScope.Public) return true;
        var v4 = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : null;
        foreach (var n in allowed)
            if (n.Contains(address) || (v4 is not null && n.Contains(v4))) return true;
        return false;
    }

    private static NetworkAddressScope ClassifyV4(IPAddress v4)
    {
        foreach (var (network, scope) in s_v4)
            if (network.Contains(v4)) return scope;
        return NetworkAddressScope.Public;
    }
}
