using CompGrid.Testing;

namespace CompGrid.Notifications.Email.Tests;

[Trait("Category", "Scheduling")]
public sealed class EmailNotifierTests
{
    private static EmailNotifierOptions Valid() => new() { Host = "127.0.0.1", Port = 2525, Security = SmtpSecurity.None, From = "CompGrid <compgrid@hpc.example.edu>" };

    internal static JobNotification Notification(string? email, string id = "cg-mail") => new()
    {
        Job = new JobRecord
        {
            Id = id, State = JobState.Completed, ExitCode = 0, Version = 5, Reason = "done\r\nBcc: victim@example.org",
            Spec = new JobSpec { Name = "fold\r\nBcc: x@y.z", Owner = "bob", Account = "bio", Payload = JobPayload.Command("true"), Notifications = new NotificationSettings { Email = email } },
        },
        PreviousState = JobState.Running,
        At = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero),
        MessageId = id + ":v5:email",
    };

    [Theory]
    [InlineData("Host", "")]
    [InlineData("From", "not an address")]
    [InlineData("From", "a@b.c, d@e.f")]
    [InlineData("Port", "0")]
    [InlineData("UserName", "clear-text")]
    [InlineData("AllowedRecipientDomains", "not a domain!")]
    public void Create_InvalidOption_FailsNamingIt(string option, string value)
    {
        var o = Valid();
        switch (option)
        {
            case "Host": o.Host = value; break;
            case "From": o.From = value; break;
            case "Port": o.Port = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "UserName": o.UserName = value; o.Password = "x"; break;
            case "AllowedRecipientDomains": o.AllowedRecipientDomains = [value]; break;
        }
        var ex = Assert.ThrowsAny<Exception>(() => EmailNotifier.Create(o));
        Assert.Contains(option == "UserName" ? "Security None" : option, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bob")]
    [InlineData("bob@")]
    [InlineData("a@b.c, d@e.f")]
    [InlineData("bob@example.org\r\nRCPT TO:<x@y.z>")]
    public async Task Notify_MalformedRecipient_IsRefusedForGoodWithoutConnecting(string email)
    {
        // Refused before any connection is made (nothing listens on the configured port here).
        var notifier = EmailNotifier.Create(Valid());
        var ex = await Assert.ThrowsAsync<CompGridException>(async () => await notifier.NotifyAsync(Notification(email)));
        Assert.False(ex.IsTransient);
        Assert.Contains("notifications.email", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notify_RecipientOutsideAllowedDomains_IsRefused()
    {
        var o = Valid();
        o.AllowedRecipientDomains = ["example.edu"];
        var notifier = EmailNotifier.Create(o);
        var ex = await Assert.ThrowsAsync<CompGridException>(async () => await notifier.NotifyAsync(Notification("mallory@evil.example")));
        Assert.Contains("AllowedRecipientDomains", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Accepts_OnlyJobsWithAnAddress()
    {
        var notifier = EmailNotifier.Create(Valid());
        Assert.True(notifier.Accepts(Notification("bob@example.org")));
        Assert.False(notifier.Accepts(Notification(null)));
    }
}
