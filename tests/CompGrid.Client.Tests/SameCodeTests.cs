using CompGrid.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace CompGrid.Client.Tests;

/// <summary>An in-process engine (Local backend, SQLite store), started once for the class.</summary>
public sealed class EngineFixture : IAsyncLifetime
{
    private readonly string _state = Path.Combine(Path.GetTempPath(), "cg-client-engine-" + Guid.NewGuid().ToString("N")[..8]);

    public CompGridEngine Engine { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Engine = CompGridEngine.Create(b => b
            .AddLocalBackend("local", o =>
            {
                o.StateDirectory = Path.Combine(_state, "local");
                o.JobUserIds = "2100000-2165535";   // as root (CI), each job gets a uid of its own, as in the sample host
            })
            .UseSqliteStore(Path.Combine(_state, "compgrid.db")));
        await Engine.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Engine.DisposeAsync();
        try { Directory.Delete(_state, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// The same code run through the in-process engine and through <see cref="CompGridHttpClient"/> against a real portal:
/// only the <see cref="ICompGridClient"/> differs (acceptance of issue 13).
/// </summary>
[Collection(PortalCollection.Name)]
[Trait("Category", "Client")]
public sealed class SameCodeTests(PortalFixture portal, EngineFixture engine) : IClassFixture<EngineFixture>
{
    /// <summary>What a script writes once: submit, wait, read the logs, list, and a bad spec refused naming its field.</summary>
    private static async Task<(JobRecord Done, string Logs, bool Listed, string BadField)> ScriptAsync(ICompGridClient grid, string owner, CancellationToken ct)
    {
        var job = await grid.SubmitAsync(new JobSpec
        {
            Name = "same-code",
            Owner = owner,
            Payload = JobPayload.Command("echo same code, $((6 * 7))"),
            Walltime = TimeSpan.FromMinutes(5),
            Labels = new Dictionary<string, string> { ["story"] = "same-code" },
        }, ct);
        var done = await job.WaitForCompletionAsync(ct);
        var logs = await job.GetLogsAsync(ct);
        bool listed = false;
        await foreach (var j in grid.ListJobsAsync(new JobQuery { Owner = owner, States = [JobState.Completed], Limit = 50 }, ct)) listed |= j.Id == job.Id;
        var bad = await Assert.ThrowsAsync<JobValidationException>(() => grid.SubmitAsync(new JobSpec { Owner = owner, Payload = JobPayload.Command("x"), Resources = new() { Cpus = 0 } }, ct));
        return (done, logs.ToString(), listed, bad.Errors[0].Field);
    }

    [Theory]
    [InlineData("engine")]
    [InlineData("portal")]
    public async Task Script_SameCode_CompletesWithTheSameOutcome(string through)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        ICompGridClient grid = through == "engine" ? engine.Engine : portal.Alice;
        var (done, logs, listed, badField) = await ScriptAsync(grid, "alice", cts.Token);
        Assert.Equal(JobState.Completed, done.State);
        Assert.Equal(0, done.ExitCode);
        Assert.Equal("alice", done.Spec.Owner);
        Assert.Equal("same-code", done.Spec.Labels["story"]);
        Assert.Equal("same code, 42\n", logs);
        Assert.True(listed);
        Assert.Equal("resources.cpus", badField);
    }
}

/// <summary>Options, the shared validator, the factory and the DI registration.</summary>
[Collection(PortalCollection.Name)]
[Trait("Category", "Client")]
public sealed class ClientRegistrationTests(PortalFixture portal)
{
    [Fact]
    public void Create_InvalidOptions_ThrowsNamingEveryOption()
    {
        var ex = Assert.Throws<ArgumentException>(() => CompGridClient.Create(new CompGridClientOptions
        {
            BaseAddress = new Uri("ftp://grid.example.edu/"), Token = "two words", PollInterval = TimeSpan.Zero, MaxRetryAttempts = 11,
        }));
        foreach (string option in (string[])["BaseAddress", "Token", "PollInterval", "MaxRetryAttempts"]) Assert.Contains(option, ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CompGridClient.Create(new CompGridClientOptions()));   // no address
    }

    [Fact]
    public async Task AddCompGridClient_FromConfiguration_ResolvesICompGridClientThatTalksToThePortal()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["BaseAddress"] = portal.Host.BaseAddress.ToString(), ["Token"] = "dev-bob-token",
        }).Build();
        await using var services = new ServiceCollection().AddCompGridClient(configuration).BuildServiceProvider(validateScopes: true);
        var grid = services.GetRequiredService<ICompGridClient>();
        Assert.Same(services.GetRequiredService<CompGridHttpClient>(), grid);
        Assert.Equal("bob", (await ((CompGridHttpClient)grid).GetCallerAsync()).Name);
        Assert.NotEmpty(await grid.GetNodesAsync());
    }

    [Fact]
    public void AddCompGridClient_InvalidOptions_FailsWithTheValidatorsMessage()
    {
        using var services = new ServiceCollection().AddCompGridClient(o => o.BaseAddress = new Uri("http://127.0.0.1/?x=1")).BuildServiceProvider();
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => services.GetRequiredService<ICompGridClient>());
        Assert.Contains("BaseAddress must not have a query", ex.Message, StringComparison.Ordinal);
    }
}
