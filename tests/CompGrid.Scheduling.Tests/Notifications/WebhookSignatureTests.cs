using System.Text;

namespace CompGrid.Scheduling.Tests.Notifications;

[Trait("Category", "Scheduling")]
public sealed class WebhookSignatureTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef";
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Verify_SignedBody_Accepts()
    {
        var body = Encoding.UTF8.GetBytes("""{"jobId":"cg-1","state":"Completed"}""");
        var header = WebhookSignature.Create(Secret, Now, body);
        Assert.StartsWith("t=" + Now.ToUnixTimeSeconds() + ",v1=", header, StringComparison.Ordinal);
        Assert.True(WebhookSignature.Verify(Secret, header, body, Now.AddSeconds(30), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Verify_TamperedBodyWrongSecretOldTimestampOrGarbage_Refuses()
    {
        var body = Encoding.UTF8.GetBytes("""{"jobId":"cg-1","state":"Completed"}""");
        var header = WebhookSignature.Create(Secret, Now, body);
        Assert.False(WebhookSignature.Verify(Secret, header, Encoding.UTF8.GetBytes("""{"jobId":"cg-2","state":"Completed"}"""), Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret.ToUpperInvariant(), header, body, Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, header, body, Now.AddMinutes(6), TimeSpan.FromMinutes(5)));
        // The timestamp is signed too: moving it forward breaks the signature.
        var moved = header.Replace("t=" + Now.ToUnixTimeSeconds(), "t=" + Now.AddMinutes(10).ToUnixTimeSeconds(), StringComparison.Ordinal);
        Assert.False(WebhookSignature.Verify(Secret, moved, body, Now.AddMinutes(10), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, null, body, Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, "t=x,v1=zz", body, Now, TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify(Secret, "t=99999999999999999,v1=" + new string('0', 64), body, Now, TimeSpan.FromMinutes(5)));
    }
}
