using CompGrid.Testing;

namespace CompGrid.Notifications.Email.Tests;

/// <summary>Through the outbox to the real SMTP server started by <c>eng/backends/smtp.sh</c> (postfix's smtp-sink on 127.0.0.1).</summary>
[Trait("Category", "Smtp")]
public sealed class SmtpDeliveryTests
{
    private const string Backend = "SMTP (eng/backends/smtp.sh)";

    [BackendFact(Backend, "COMPGRID_SMTP_PORT")]
    public async Task EmailNotification_ThroughTheOutbox_ArrivesAtTheRealSmtpServer()
    {
        string host = BackendEnvironment.Get("COMPGRID_SMTP_HOST", Backend);
        int port = int.Parse(BackendEnvironment.Get("COMPGRID_SMTP_PORT", Backend), System.Globalization.CultureInfo.InvariantCulture);
        string maildir = BackendEnvironment.Get("COMPGRID_SMTP_MAILDIR", Backend);
        var notifier = EmailNotifier.Create(new EmailNotifierOptions { Host = host, Port = port, Security = SmtpSecurity.None, From = "CompGrid <compgrid@hpc.example.edu>" });

        var store = new InMemoryJobStore();
        string jobId = "cg-smtp-" + Guid.NewGuid().ToString("N")[..12];
        var n = EmailNotifierTests.Notification("bob@example.org", jobId) with { MessageId = null };
        var message = new OutboxMessage { Id = OutboxMessage.MakeId(n, notifier.Name), JobId = jobId, Notifier = notifier.Name, Notification = n, CreatedAt = n.At, NextAttemptAt = n.At };
        await store.EnqueueAsync([message]);
        await using var worker = NotificationOutboxWorker.Create(store, [notifier], new NotificationOutboxOptions(), timeProvider: new ManualTimeProvider(n.At));

        Assert.Equal(1, await worker.RunOnceAsync());
        var stored = await store.GetMessageAsync(message.Id);
        Assert.Equal(OutboxMessageState.Delivered, stored!.State);

        // smtp-sink writes the message file before it answers the final "." with 250, so it is there now.
        var file = Directory.EnumerateFiles(maildir, "*", SearchOption.AllDirectories)
            .Select(f => (Path: f, Text: File.ReadAllText(f)))
            .SingleOrDefault(f => f.Text.Contains(jobId, StringComparison.Ordinal));
        Assert.NotNull(file.Path);
        var text = file.Text;
        Assert.Contains("X-Rcpt-Args: <bob@example.org>", text, StringComparison.Ordinal);
        Assert.Contains("X-Mail-Args: <compgrid@hpc.example.edu>", text, StringComparison.Ordinal);
        Assert.Contains($"Subject: [CompGrid] Job fold  Bcc: x@y.z ({jobId}) Completed", text, StringComparison.Ordinal);
        Assert.Contains($"X-CompGrid-Message-Id: {jobId}:v5:email", text, StringComparison.Ordinal);
        Assert.Contains($"Message-Id: <{jobId}.v5.email@hpc.example.edu>", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Running -> Completed", text, StringComparison.Ordinal);
        // The user's line breaks never became headers: only the one recipient, no Bcc header.
        Assert.DoesNotContain("\nBcc:", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("victim@example.org>", text, StringComparison.Ordinal);
    }

    [BackendFact(Backend, "COMPGRID_SMTP_PORT")]
    public async Task EmailNotification_ServerGone_IsRetriedLaterNotLost()
    {
        // A port on loopback where nothing listens: the attempt fails as transient and stays pending with a retry time.
        int port = FreeLoopbackPort();
        var notifier = EmailNotifier.Create(new EmailNotifierOptions { Host = "127.0.0.1", Port = port, Security = SmtpSecurity.None, From = "compgrid@hpc.example.edu", Timeout = TimeSpan.FromSeconds(5) });
        var store = new InMemoryJobStore();
        var n = EmailNotifierTests.Notification("bob@example.org", "cg-gone");
        var message = new OutboxMessage { Id = OutboxMessage.MakeId(n, notifier.Name), JobId = "cg-gone", Notifier = notifier.Name, Notification = n, CreatedAt = n.At, NextAttemptAt = n.At };
        await store.EnqueueAsync([message]);
        var time = new ManualTimeProvider(n.At);
        await using var worker = NotificationOutboxWorker.Create(store, [notifier], new NotificationOutboxOptions(), timeProvider: time);
        await worker.RunOnceAsync();
        var stored = (await store.GetMessageAsync(message.Id))!;
        Assert.Equal((OutboxMessageState.Pending, 1), (stored.State, stored.Attempts));
        Assert.True(stored.NextAttemptAt > time.GetUtcNow());
    }

    private static int FreeLoopbackPort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
