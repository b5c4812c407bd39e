using Microsoft.Extensions.DependencyInjection;
using CompGrid.Testing;

namespace CompGrid.Scheduling.Tests.Notifications;

[Trait("Category", "Scheduling")]
public sealed class EngineNotificationTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly InMemoryJobStore _store = new();

    private static JobSpec Job(string command, Uri? webhook = null) => new()
    {
        Name = "t", Owner = "alice", Payload = JobPayload.Command(command), Resources = new() { Cpus = 1 },
        Notifications = webhook is null ? null : new NotificationSettings { Webhook = webhook },
    };

    [Fact]
    public async Task Webhook_LoopbackServerThatNeverAnswers_OtherJobsKeepFlowing()
    {
        using var silent = new SilentLoopbackServer();
        var backend = new InMemoryBackend("mem", _time, nodes: 2, cpusPerNode: 4);
        await using var engine = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(_store).UseTimeProvider(_time)
            .AddWebhookNotifier(o => { o.SigningSecret = WebhookNotifierTests.Secret; o.AllowedNetworks = ["127.0.0.1/32"]; o.Timeout = TimeSpan.FromMinutes(5); })
            .AddNotificationOutbox(o => o.AttemptTimeout = TimeSpan.FromMinutes(5)));
        await engine.StartAsync();

        var hooked = await engine.SubmitAsync(Job("exit 0", silent.Url));
        Assert.Equal(JobState.Completed, (await hooked.WaitForCompletionAsync().WaitAsync(TimeSpan.FromSeconds(30))).State);
        // The worker is now connected to the server that never answers, and its attempt is in flight ...
        await silent.Connected.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // ... while unrelated jobs are admitted, dispatched and finish: none of them waits for the webhook.
        for (int i = 0; i < 5; i++)
        {
            var other = await engine.SubmitAsync(Job("echo " + i));
            var done = await other.WaitForCompletionAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(JobState.Completed, done.State);
        }
        var terminal = OutboxMessage.MakeId(new JobNotification { Job = (await engine.GetJobAsync(hooked.Id))! }, "webhook");
        var message = await _store.GetMessageAsync(terminal);
        Assert.NotNull(message);
        Assert.Equal((OutboxMessageState.Pending, 0), (message!.State, message.Attempts)); // still the first attempt
        Assert.Equal(1, silent.Connections);
    }

    [Fact]
    public async Task TerminalState_IsWrittenToTheOutboxAndDeliveredByTheWorker()
    {
        var backend = new InMemoryBackend("mem", _time);
        var seen = new ScriptedNotifier("recorder");
        var delivered = new TaskCompletionSource<JobNotification>(TaskCreationOptions.RunContinuationsAsynchronously);
        seen.Behaviour = (n, _) => { if (n.Job.IsTerminal) delivered.TrySetResult(n); return Task.CompletedTask; };
        await using var engine = CompGridEngine.Create(b => b.AddBackend(backend).UseJobStore(_store).UseTimeProvider(_time).AddNotifier(seen));
        await engine.StartAsync();
        var h = await engine.SubmitAsync(Job("exit 4"));
        await h.WaitForCompletionAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var n = await delivered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((h.Id, JobState.Failed), (n.Job.Id, n.Job.State));
        Assert.StartsWith(h.Id + ":v", n.MessageId, StringComparison.Ordinal);
        var stored = new List<OutboxMessage>();
        await foreach (var m in _store.QueryMessagesAsync()) stored.Add(m);
        Assert.Contains(stored, m => m.Id == n.MessageId && m.Notifier == "recorder");
        Assert.Contains(stored, m => m.Notifier == "log" && m.JobId == h.Id);
    }
}
