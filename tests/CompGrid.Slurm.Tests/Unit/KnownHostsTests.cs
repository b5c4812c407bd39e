using CompGrid.Slurm.Ssh;

namespace CompGrid.Slurm.Tests.Unit;

[Trait("Category", "Slurm")]
public sealed class KnownHostsTests
{
    private const string KeyText = "AAAAC3NzaC1lZDI1NTE5AAAAIDf0tGxZ0X9I7b3kRyZpP8yN0q2mO3w3yD7qZ7ZcNnZk";
    private const string OtherKeyText = "AAAAC3NzaC1lZDI1NTE5AAAAIBQx7v0v6mJkzQ0n7eQeYtWc6f7o9l0yRk1jWkQ5Fh2s";
    private static readonly byte[] Key = Convert.FromBase64String(KeyText);
    private static readonly byte[] OtherKey = Convert.FromBase64String(OtherKeyText);

    [Fact]
    public void PlainEntry_TrustsItsKeyOnPort22Only()
    {
        var kh = KnownHosts.Parse($"login.example.edu ssh-ed25519 {KeyText} comment here\n");
        Assert.True(kh.IsTrusted("login.example.edu", 22, Key));
        Assert.True(kh.IsTrusted("LOGIN.example.EDU", 22, Key)); // host names compare case-insensitively
        Assert.False(kh.IsTrusted("login.example.edu", 2222, Key)); // a bare name means port 22
        Assert.False(kh.IsTrusted("login.example.edu", 22, OtherKey));
        Assert.False(kh.IsTrusted("evil.example.edu", 22, Key));
    }

    [Fact]
    public void BracketedEntry_TrustsItsPortOnly()
    {
        var kh = KnownHosts.Parse($"[127.0.0.1]:2322 ssh-ed25519 {KeyText}\n");
        Assert.True(kh.IsTrusted("127.0.0.1", 2322, Key));
        Assert.False(kh.IsTrusted("127.0.0.1", 22, Key));
        Assert.False(kh.IsTrusted("127.0.0.1", 2323, Key));
    }

    [Fact]
    public void HashedEntries_WrittenBySshKeygen_Match()
    {
        // Both lines were hashed by `ssh-keygen -H` from "[127.0.0.1]:2322 …" and "login.example.edu …".
        var kh = KnownHosts.Parse(
            $"|1|2IdOBbZrt5r8fF0XlMv9H+ZSDl8=|G4gibXf1DUOnOIY3/EZR37oRO+A= ssh-ed25519 {KeyText}\n" +
            $"|1|UZNys68NNWMneC7EMSfW62XE3BE=|YjX0Dv6U1GvN7kXaP5lDDNBHOOk= ssh-ed25519 {KeyText}\n");
        Assert.True(kh.IsTrusted("127.0.0.1", 2322, Key));
        Assert.True(kh.IsTrusted("login.example.edu", 22, Key));
        Assert.False(kh.IsTrusted("127.0.0.1", 22, Key));
        Assert.False(kh.IsTrusted("login.example.edu", 22, OtherKey));
        Assert.False(kh.IsTrusted("other.example.edu", 22, Key));
    }

    [Fact]
    public void Hash_RoundTripsThroughParse()
    {
        byte[] salt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
        string hashed = KnownHosts.Hash(KnownHosts.LookupName("Cluster.Example.Org", 2200), salt);
        Assert.StartsWith("|1|AQIDBAUGBwgJCgsMDQ4PEBESExQ=|", hashed, StringComparison.Ordinal);
        var kh = KnownHosts.Parse($"{hashed} ssh-ed25519 {KeyText}");
        Assert.True(kh.IsTrusted("cluster.example.org", 2200, Key));
        Assert.False(kh.IsTrusted("cluster.example.org", 22, Key));
    }

    [Fact]
    public void Patterns_WildcardsAndNegation()
    {
        var kh = KnownHosts.Parse($"login?.example.edu,*.hpc.example.edu,!bad.hpc.example.edu ssh-ed25519 {KeyText}\n");
        Assert.True(kh.IsTrusted("login1.example.edu", 22, Key));
        Assert.False(kh.IsTrusted("login12.example.edu", 22, Key));
        Assert.True(kh.IsTrusted("n1.hpc.example.edu", 22, Key));
        Assert.False(kh.IsTrusted("bad.hpc.example.edu", 22, Key)); // negation wins over the wildcard
        Assert.False(kh.IsTrusted("hpc.example.edu", 22, Key));
    }

    [Fact]
    public void RevokedKey_IsNeverTrusted()
    {
        var kh = KnownHosts.Parse($"login.example.edu ssh-ed25519 {KeyText}\n@revoked * ssh-ed25519 {KeyText}\n");
        Assert.False(kh.IsTrusted("login.example.edu", 22, Key));
    }

    [Fact]
    public void CommentsGarbageAndCertAuthorities_AreSkipped()
    {
        var kh = KnownHosts.Parse(
            "# comment\n\n   \nnot-enough-fields\nhost ssh-ed25519 not*base64\n" +
            $"@cert-authority *.example.edu ssh-ed25519 {KeyText}\n" +
            $"login.example.edu ssh-ed25519 {OtherKeyText}\r\n");
        Assert.Equal(1, kh.Count);
        Assert.False(kh.IsTrusted("a.example.edu", 22, Key)); // host certificates are not accepted
        Assert.True(kh.IsTrusted("login.example.edu", 22, OtherKey)); // CRLF line endings are fine
        Assert.True(kh.KnowsHost("login.example.edu", 22));
        Assert.False(kh.KnowsHost("a.example.edu", 22));
    }
}
