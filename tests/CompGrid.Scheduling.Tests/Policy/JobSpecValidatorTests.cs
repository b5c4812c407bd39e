namespace CompGrid.Scheduling.Tests.Policy;

[Trait("Category", "Scheduling")]
public sealed class JobSpecValidatorTests
{
    private static IReadOnlyList<ValidationError> Validate(Func<JobSpec, JobSpec> change) =>
        JobSpecValidator.Validate(change(new JobSpec { Owner = "alice", Payload = JobPayload.Command("true") }), TimeSpan.FromDays(30));

    [Theory]
    [InlineData(46341, 0, 0, 46341, "resources.cpus")]      // 46341² wraps int to a negative total
    [InlineData(100_000, 0, 0, 100_000, "resources.cpus")]
    [InlineData(1, 0, 1024, 100_000, "resources.gpus")]
    [InlineData(1, 1L << 26, 0, 100_000, "resources.memoryMiB")]
    [InlineData(1, (1L << 26) + 1, 0, 1, "resources.memoryMiB")]
    public void Validate_TotalsOutOfRange_RejectedNamingTheField_NeverWrapped(int cpus, long memory, int gpus, int nodes, string field)
    {
        var errors = Validate(s => s with { Resources = new ResourceRequest { Cpus = cpus, MemoryMiB = memory, Gpus = gpus, Nodes = nodes } });
        Assert.Contains(errors, e => e.Field == field);
    }

    [Fact]
    public void Validate_LargestAllowedTotals_Accepted_AndTotalsAreExact()
    {
        var r = new ResourceRequest { Cpus = 100, Nodes = 100_000, Gpus = 10, MemoryMiB = 1 << 16 };
        Assert.Empty(Validate(s => s with { Resources = r }));
        Assert.Equal(10_000_000, r.TotalCpus);
        Assert.Throws<OverflowException>(() => new ResourceRequest { Cpus = 46341, Nodes = 46341 }.TotalCpus);
    }

    [Fact]
    public void Validate_CountsAndSizes_RejectedNamingTheField()
    {
        var env = Enumerable.Range(0, 1025).ToDictionary(i => $"V{i}", _ => "x");
        Assert.Contains(Validate(s => s with { Environment = env }), e => e.Field == "environment");
        var bigEnv = Enumerable.Range(0, 40).ToDictionary(i => $"V{i}", _ => new string('x', 30_000));
        Assert.Contains(Validate(s => s with { Environment = bigEnv }), e => e.Field == "environment");
        var labels = Enumerable.Range(0, 65).ToDictionary(i => $"l{i}", _ => "x");
        Assert.Contains(Validate(s => s with { Labels = labels }), e => e.Field == "labels");
        Assert.Contains(Validate(s => s with { Payload = JobPayload.Exec("/bin/true", [.. Enumerable.Repeat("a", 5000)]) }), e => e.Field == "payload.arguments");
        Assert.Contains(Validate(s => s with { Name = new string('n', 129) }), e => e.Field == "name");
        Assert.Contains(Validate(s => s with { WorkingDirectory = "/" + new string('d', 5000) }), e => e.Field == "workingDirectory");
        string longKey = new('K', 10_000);
        var badKey = Validate(s => s with { Environment = new Dictionary<string, string> { [longKey] = "x" } });
        Assert.True(badKey.Single().Field.Length < 100, "an invalid key is shortened in the field name");
    }

    [Fact]
    public void Validate_RelativeWebhook_RejectedNotThrown()
    {
        var errors = Validate(s => s with { Notifications = new NotificationSettings { Webhook = new Uri("x", UriKind.Relative) } });
        Assert.Equal("notifications.webhook", Assert.Single(errors).Field);
    }
}
