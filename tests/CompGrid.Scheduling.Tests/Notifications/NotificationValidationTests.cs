namespace CompGrid.Scheduling.Tests.Notifications;

[Trait("Category", "Scheduling")]
public sealed class NotificationValidationTests
{
    private static JobSpec Spec(NotificationSettings n) => new() { Name = "t", Owner = "bob", Payload = JobPayload.Command("true"), Resources = new() { Cpus = 1 }, Notifications = n };

    private static IEnumerable<string> Fields(NotificationSettings n) => JobSpecValidator.Validate(Spec(n), TimeSpan.FromDays(7)).Select(e => e.Field);

    [Theory]
    [InlineData("x")]                          // relative: the sample host's former 500
    [InlineData("ftp://files.example.org/x")]
    [InlineData("file:///etc/passwd")]
    [InlineData("gopher://127.0.0.1:6379/_FLUSHALL")]
    public void Validate_NonHttpOrMalformedWebhook_NamesTheField(string url) =>
        Assert.Contains("notifications.webhook", Fields(new NotificationSettings { Webhook = new Uri(url, UriKind.RelativeOrAbsolute) }));

    [Theory]
    [InlineData("bob")]
    [InlineData("bob@")]
    [InlineData("Bob <bob@example.org>")]
    [InlineData("a@b.c, d@e.f")]
    [InlineData("bob@example.org\r\nBcc: victim@example.org")]
    public void Validate_MalformedEmail_NamesTheField(string email) =>
        Assert.Contains("notifications.email", Fields(new NotificationSettings { Email = email }));

    [Fact]
    public void Validate_GoodWebhookAndEmail_Pass() =>
        Assert.Empty(Fields(new NotificationSettings { Webhook = new Uri("https://hooks.example.org/compgrid"), Email = "bob@example.org" }));
}
