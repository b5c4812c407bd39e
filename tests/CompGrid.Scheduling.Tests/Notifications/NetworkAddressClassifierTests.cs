using System.Net;

namespace CompGrid.Scheduling.Tests.Notifications;

// Pure classification: no address here is ever connected to (tests send traffic only to 127.0.0.0/8).
[Trait("Category", "Scheduling")]
public sealed class NetworkAddressClassifierTests
{
    [Theory]
    [InlineData("127.0.0.1", "Loopback")]
    [InlineData("127.255.255.254", "Loopback")]
    [InlineData("::1", "Loopback")]
    [InlineData("::ffff:127.0.0.1", "Loopback")]
    [InlineData("10.0.0.1", "Private")]
    [InlineData("10.255.255.255", "Private")]
    [InlineData("172.16.0.1", "Private")]
    [InlineData("172.31.255.255", "Private")]
    [InlineData("192.168.1.1", "Private")]
    [InlineData("::ffff:10.1.2.3", "Private")]
    [InlineData("::ffff:192.168.0.10", "Private")]
    [InlineData("fc00::1", "Private")]
    [InlineData("fd12:3456:789a::1", "Private")]
    [InlineData("fec0::1", "Private")]
    [InlineData("64:ff9b:1::a00:1", "Private")]
    [InlineData("64:ff9b::10.0.0.1", "Private")]
    [InlineData("2002:c0a8:0101::1", NetworkAddressScope.Private)] // 6to4 of 192.168.1.1
    [InlineData("169.254.169.254", "LinkLocal")]
    [InlineData("::ffff:169.254.169.254", "LinkLocal")]
    [InlineData("fe80::1", "LinkLocal")]
    [InlineData("febf:ffff::1", "LinkLocal")]
    [InlineData("100.64.0.1", "SharedAddressSpace")]
    [InlineData("100.127.255.254", "SharedAddressSpace")]
    [InlineData("224.0.0.1", "Multicast")]
    [InlineData("239.255.255.250", "Multicast")]
    [InlineData("ff02::1", "Multicast")]
    [InlineData("0.0.0.0", "Unspecified")]
    [InlineData("0.1.2.3", "Unspecified")]
    [InlineData("::", "Unspecified")]
    [InlineData("::ffff:0.0.0.0", "Unspecified")]
    [InlineData("255.255.255.255", "Broadcast")]
    [InlineData("240.0.0.1", "Reserved")]
    [InlineData("192.0.2.1", "Reserved")]
    [InlineData("198.18.0.1", "Reserved")]
    [InlineData("198.51.100.7", "Reserved")]
    [InlineData("203.0.113.9", "Reserved")]
    [InlineData("192.0.0.8", "Reserved")]
    [InlineData("::10.0.0.1", NetworkAddressScope.Reserved)] // IPv4-compatible, deprecated
    [InlineData("2001:db8::1", "Reserved")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", NetworkAddressScope.Reserved)] // Teredo
    [InlineData("100::1", "Reserved")]
    [InlineData("4000::1", NetworkAddressScope.Reserved)] // outside 2000::/3
    [InlineData("8.8.8.8", "Public")]
    [InlineData("1.1.1.1", "Public")]
    [InlineData("172.15.255.255", "Public")]
    [InlineData("172.32.0.0", "Public")]
    [InlineData("100.63.255.255", "Public")]
    [InlineData("100.128.0.0", "Public")]
    [InlineData("169.253.255.255", "Public")]
    [InlineData("::ffff:8.8.4.4", "Public")]
    [InlineData("64:ff9b::8.8.8.8", "Public")]
    [InlineData("2606:4700:4700::1111", "Public")]
    [InlineData("2a00:1450:4001:80b::200e", "Public")]
    public void Classify_Address_GivesItsScope(string address, string expected) =>   // the scope by name: the enum is internal
        Assert.Equal(Enum.Parse<NetworkAddressScope>(expected), NetworkAddressClassifier.Classify(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8", "", true)]
    [InlineData("127.0.0.1", "", false)]
    [InlineData("127.0.0.1", "127.0.0.1/32", true)]
    [InlineData("127.0.0.2", "127.0.0.1/32", false)]
    [InlineData("::ffff:127.0.0.1", "127.0.0.0/8", true)]
    [InlineData("10.20.3.4", "10.20.0.0/16", true)]
    [InlineData("10.21.3.4", "10.20.0.0/16", false)]
    [InlineData("169.254.169.254", "10.0.0.0/8", false)]
    [InlineData("fd00::5", "fd00::/8", true)]
    [InlineData("fe80::1", "fd00::/8", false)]
    public void IsAllowed_PublicOrAllowListed(string address, string allowList, bool expected)
    {
        var allowed = allowList.Length == 0 ? [] : allowList.Split(',').Select(IPNetwork.Parse).ToList();
        Assert.Equal(expected, NetworkAddressClassifier.IsAllowed(IPAddress.Parse(address), allowed));
    }
}
