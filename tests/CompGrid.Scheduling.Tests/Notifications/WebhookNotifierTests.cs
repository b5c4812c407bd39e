using System.Net.Sockets;
using System.Text.Json;
using CompGrid.Testing;

namespace CompGrid.Scheduling.Tests.Notifications;

// Every server here listens on 127.0.0.1; no test sends traffic to any other address.
[Trait("Category", "Scheduling")]
public sealed class WebhookNotifierTests
{
    internal const string Secret = "test-secret-test-secret-test-secret!";
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));

    internal static JobNotification Notification(Uri webhook, string id = "cg-hook", JobState state = JobState.Failed) => new()
    {
        Job = new JobRecord
        {
            Id = id, State = state, ExitCode = 3, Version = 4,
            Spec = new JobSpec { Name = "t", Owner = "alice", Account = "phys", Payload = JobPayload.Command("exit 3"), Notifications = new NotificationSettings { Webhook = webhook } },
        },
        PreviousState = JobState.Running,
        At = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero),
        MessageId = id + ":v4:webhook",
    };

    private WebhookNotifier Notifier(params string[] allowed) =>
        WebhookNotifier.Create(new WebhookNotifierOptions { SigningSecret = Secret, AllowedNetworks = allowed.ToList(), Timeout = TimeSpan.FromSeconds(10) }, timeProvider: _time);

    [Fact]
    public async Task Webhook_LoopbackServerNotAllowListed_IsRefusedWithoutAConnection()
    {
        using var server = new LoopbackHttpServer();
        using var notifier = Notifier();
        var ex = await Assert.ThrowsAsync<CompGridException>(async () => await notifier.NotifyAsync(Notification(server.Url())));
        Assert.False(ex.IsTransient);
        Assert.Contains("127.0.0.1 (Loopback)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("AllowedNetworks", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Webhook_HostNameResolvingToLoopback_IsRefusedAfterResolution()
    {
        using var server = new LoopbackHttpServer();
        using var notifier = Notifier();
        // "localhost" is not an address literal: it is refused for what it resolves to (127.0.0.1 / ::1).
        var ex = await Assert.ThrowsAsync<CompGridException>(async () => await notifier.NotifyAsync(Notification(new Uri($"http://localhost:{server.Port}/hook"))));
        Assert.False(ex.IsTransient);
        Assert.Contains("(Loopback)", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Webhook_AllowListedLoopback_DeliversASignedBodyTheReceiverVerifies()
    {
        using var server = new LoopbackHttpServer();
        using var notifier = Notifier("127.0.0.1/32");
        var n = Notification(server.Url());
        await notifier.NotifyAsync(n);
        var r = Assert.Single(server.Requests);
        Assert.Equal("POST", r.Method);
        Assert.Equal("/hook", r.Path);
        Assert.Equal(n.MessageId, r.Headers[WebhookSignature.MessageIdHeaderName]);
        Assert.True(WebhookSignature.Verify(Secret, r.Headers[WebhookSignature.HeaderName], r.Body, _time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        Assert.False(WebhookSignature.Verify("another-secret-another-secret-xx!", r.Headers[WebhookSignature.HeaderName], r.Body, _time.GetUtcNow(), TimeSpan.FromMinutes(5)));
        using var doc = JsonDocument.Parse(r.Body);
        Assert.Equal("cg-hook", doc.RootElement.GetProperty("jobId").GetString());
        Assert.Equal("Failed", doc.RootElement.GetProperty("state").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal(n.MessageId, doc.RootElement.GetProperty("messageId").GetString());
    }

    [Fact]
    public async Task Webhook_RedirectToAnotherLoopbackServer_IsNotFollowed()
    {
        using var target = new LoopbackHttpServer();
        using var redirector = new LoopbackHttpServer();
        redirector.Respond = r => { r.StatusCode = 302; r.RedirectLocation = target.Url("/stolen").ToString(); };
        using var notifier = Notifier("127.0.0.1/32");
        var ex = await Assert.ThrowsAsync<CompGridException>(async () => await notifier.NotifyAsync(Notification(redirector.Url())));
        Assert.False(ex.IsTransient);
        Assert.Contains("redirects are not followed", ex.Message, StringComparison.Ordinal);
        Assert.Single(redirector.Requests);
        Assert.Empty(target.Requests);
    }

    [Theory]
    [InlineData(503, true)]
    [InlineData(429, true)]
    [InlineData(404, false)]
    public async Task Webhook_ErrorStatus_FailsTransientOnlyForRetryableStatuses(int status, bool transient)
    {
        using var server = new LoopbackHttpServer { Respond = r => r.StatusCode = status };
        using var notifier = Notifier("127.0.0.0/8");
        var ex = await Assert.ThrowsAsync<CompGridException>(async () => await notifier.NotifyAsync(Notification(server.Url())));
        Assert.Equal(transient, ex.IsTransient);
    }

    [Fact]
    public async Task Webhook_ServerThatNeverAnswers_TimesOutOnTheInjectedClock()
    {
        using var server = new SilentLoopbackServer();
        using var notifier = Notifier("127.0.0.1/32");
        var send = notifier.NotifyAsync(Notification(server.Url)).AsTask();
        await server.Connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(send.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(11));
        var ex = await Assert.ThrowsAsync<CompGridException>(() => send.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(ex.IsTransient);
        Assert.Contains("did not answer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_WithoutSecretOrWithBadNetwork_FailsNamingTheOption()
    {
        var e1 = Assert.ThrowsAny<Exception>(() => WebhookNotifier.Create(new WebhookNotifierOptions()));
        Assert.Contains("SigningSecret", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.ThrowsAny<Exception>(() => WebhookNotifier.Create(new WebhookNotifierOptions { SigningSecret = Secret, AllowedNetworks = ["10.0.0.0/33"] }));
        Assert.Contains("AllowedNetworks", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.ThrowsAny<Exception>(() => WebhookNotifier.Create(new WebhookNotifierOptions { SigningSecret = Secret, Url = new Uri("ftp://example.org/x") }));
        Assert.Contains("Url", e3.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Accepts_OnlyWhenThereIsAnAddress()
    {
        using var notifier = Notifier();
        var n = Notification(new Uri("http://127.0.0.1:9/x"));
        Assert.True(notifier.Accepts(n));
        Assert.False(notifier.Accepts(n with { Job = n.Job with { Spec = n.Job.Spec with { Notifications = null } } }));
    }
}
