using CompGrid.Billing;
using CompGrid.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace CompGrid.Billing.Tests.Integration;

/// <summary>Billing plugged into the real engine (in-memory backend and stores, manual clock): DI registration, hold at submit, charge at completion.</summary>
[Trait("Category", "Billing")]
public sealed class EngineBillingTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new(B.T0);
    private CompGridEngine _engine = null!;
    private GrantBillingService _billing = null!;

    public async Task InitializeAsync()
    {
        var backend = new InMemoryBackend("mem", _time, nodes: 1, cpusPerNode: 16, memoryMiBPerNode: 65536);
        _engine = CompGridEngine.Create(b =>
        {
            b.AddBackend(backend).UseJobStore(new InMemoryJobStore()).UseTimeProvider(_time)
             .UseInMemoryBillingStore()
             .AddGrantBilling(o =>
             {
                 o.RateCards.Add(new RateCard { Currency = "CRD", Rules = [new RateRule { CpuCoreHour = 3600m }] });
                 o.MinorUnits["CRD"] = 0;
                 o.Grants.Add(B.Grant("chem", 100_000m, "alice", "carol"));
                 o.Grants.Add(B.Grant("fifty", 50 * 3_600m, "alice"));
             });
        });
        await _engine.StartAsync();
        _billing = GetBilling(_engine);
        await _billing.InitializeAsync();
    }

    // The engine owns its service provider; the billing service is reachable through the admission check it registered.
    private static GrantBillingService GetBilling(CompGridEngine engine)
    {
        var field = typeof(CompGridEngine).GetField("_ownedServices", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        return ((IServiceProvider)field.GetValue(engine)!).GetRequiredService<GrantBillingService>();
    }

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private static JobSpec Job(string owner, string account, int cpus, int seconds, int walltime = 3600) => new()
    {
        Name = "billed", Owner = owner, Account = account, Payload = JobPayload.Command($"sleep {seconds}"),
        Resources = new ResourceRequest { Cpus = cpus, MemoryMiB = 1024 }, Walltime = TimeSpan.FromSeconds(walltime),
    };

    private async Task<JobRecord> SettleAsync(string id, TimeSpan advance)
    {
        await _engine.RunCycleAsync();
        _time.Advance(advance);
        for (var i = 0; i < 50; i++)
        {
            await _engine.RunCycleAsync();
            var j = await _engine.GetJobAsync(id);
            if (j!.IsTerminal && j.UsageDelivered) return j;
        }
        return (await _engine.GetJobAsync(id))!;
    }

    [Fact]
    public async Task Submit_HoldsTheQuote_CompletionChargesWhatRan()
    {
        var handle = await _engine.SubmitAsync(Job("alice", "chem", cpus: 16, seconds: 1234));
        Assert.Equal(57_600m, (await _billing.GetBalanceAsync("chem")).Held);
        var done = await SettleAsync(handle.Id, TimeSpan.FromSeconds(1234));
        Assert.Equal(JobState.Completed, done.State);
        var b = await _billing.GetBalanceAsync("chem");
        Assert.Equal(0m, b.Held);
        Assert.Equal(19_744m, b.Charged);
        Assert.Equal(80_256m, b.Available);
    }

    [Fact]
    public async Task Submit_NotAMember_RejectedAndNothingStored()
    {
        var e = await Assert.ThrowsAsync<JobRejectedException>(() => _engine.SubmitAsync(Job("bob", "chem", 1, 1)));
        Assert.Equal("not-a-member", e.Code);
        Assert.Empty(await _engine.ListJobsAsync().ToListAsync());
    }

    [Fact]
    public async Task Submit_CancelledBeforeStart_HoldReleasedCostsNothing()
    {
        // 16 CPUs are busy, so the second job waits in the queue and is cancelled there.
        var busy = await _engine.SubmitAsync(Job("alice", "chem", 16, 100, walltime: 200));
        await _engine.RunCycleAsync();
        var waiting = await _engine.SubmitAsync(Job("carol", "chem", 4, 100, walltime: 100));
        Assert.Equal(3_200m + 400m, (await _billing.GetBalanceAsync("chem")).Held);
        await _engine.CancelAsync(waiting.Id);
        var cancelled = await SettleAsync(waiting.Id, TimeSpan.Zero);
        Assert.Equal(JobState.Cancelled, cancelled.State);
        var b = await _billing.GetBalanceAsync("chem");
        Assert.Equal(3_200m, b.Held);
        Assert.Equal(0m, b.Charged);
        await SettleAsync(busy.Id, TimeSpan.FromSeconds(100));
        Assert.Equal(1_600m, (await _billing.GetBalanceAsync("chem")).Charged);
    }

    [Fact]
    public async Task Submit_200InParallelOnAGrantAffording50_Exactly50Admitted()
    {
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(async () =>
        {
            try { await _engine.SubmitAsync(Job("alice", "fifty", 1, 10)); return "admitted"; }
            catch (JobRejectedException e) { return e.Code ?? "rejected"; }
        })));
        Assert.Equal(50, outcomes.Count(o => o == "admitted"));
        Assert.Equal(150, outcomes.Count(o => o == "insufficient-funds"));
        var b = await _billing.GetBalanceAsync("fifty");
        Assert.Equal(0m, b.Available);
        Assert.Equal(50, (await _engine.ListJobsAsync(new JobQuery { Account = "fifty" }).ToListAsync()).Count);
    }
}

/// <summary>What <c>AddGrantBilling</c> registers and how it validates.</summary>
[Trait("Category", "Billing")]
public sealed class GrantBillingRegistrationTests
{
    private sealed class Builder(IServiceCollection services) : ICompGridBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    [Fact]
    public void AddGrantBilling_RegistersAdmissionCheckAndUsageSink()
    {
        var services = new ServiceCollection();
        new Builder(services).UseInMemoryBillingStore().AddGrantBilling(o => o.RateCards.Add(RateCard.PerCpuHour(1m)));
        using var sp = services.BuildServiceProvider();
        var billing = sp.GetRequiredService<GrantBillingService>();
        Assert.Same(billing.AdmissionCheck, Assert.Single(sp.GetServices<IAdmissionCheck>()));
        Assert.Same(billing.UsageSink, Assert.Single(sp.GetServices<IUsageSink>()));
        Assert.Single(sp.GetServices<Microsoft.Extensions.Hosting.IHostedService>());
    }

    [Fact]
    public async Task AddGrantBilling_HostedExpiryService_ExpiresAllocationsAsTheClockMoves()
    {
        var time = new ManualTimeProvider(B.T0);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        new Builder(services).UseInMemoryBillingStore().AddGrantBilling(o =>
        {
            o.RateCards.Add(RateCard.PerCpuHour(1m));
            o.Grants.Add(B.Grant("g", 0m));
            o.ExpiryInterval = TimeSpan.FromHours(1);
        });
        await using var sp = services.BuildServiceProvider();
        var billing = sp.GetRequiredService<GrantBillingService>();
        await billing.AllocateAsync("g", 100m, "admin", "Q1", expiresAt: B.T0.AddHours(5), carryOverFraction: 0.25m);
        var expiry = Assert.Single(sp.GetServices<Microsoft.Extensions.Hosting.IHostedService>());
        await expiry.StartAsync(CancellationToken.None);
        try
        {
            GrantBalance b = await billing.GetBalanceAsync("g");
            for (var i = 0; i < 500 && b.Expired == 0; i++)
            {
                time.Advance(TimeSpan.FromHours(1));
                await Task.Delay(10); // the service runs on the thread pool once the manual clock fires its timer
                b = await billing.GetBalanceAsync("g");
            }
            Assert.Equal(100m, b.Expired);
            Assert.Equal(25m, b.Balance);
        }
        finally
        {
            await expiry.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void AddGrantBilling_InvalidOptions_FailValidationNamingTheSetting()
    {
        var services = new ServiceCollection();
        new Builder(services).UseInMemoryBillingStore().AddGrantBilling(o => o.RateCardName = "nope");
        using var sp = services.BuildServiceProvider();
        var e = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<GrantBillingOptions>>().Value);
        Assert.Contains("RateCards: must contain a card named 'nope'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddGrantBilling_NoStore_FailsWithAClearMessage()
    {
        var services = new ServiceCollection();
        new Builder(services).AddGrantBilling(o => o.RateCards.Add(RateCard.PerCpuHour(1m)));
        using var sp = services.BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => sp.GetRequiredService<GrantBillingService>());
        Assert.Contains("UseSqliteBillingStore", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddGrantBilling_FromConfiguration_BindsRateCardsAndGrants()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Billing:MinorUnits:CRD"] = "0",
            ["Billing:RateCards:0:Name"] = "default",
            ["Billing:RateCards:0:Version"] = "2",
            ["Billing:RateCards:0:Currency"] = "CRD",
            ["Billing:RateCards:0:Rules:0:CpuCoreHour"] = "3600",
            ["Billing:RateCards:0:Rules:0:BillingWeights"] = "CPU=1.0,Mem=0.25G",
            ["Billing:RateCards:0:Rules:0:BillingMode"] = "Max",
            ["Billing:RateCards:0:QosMultipliers:premium"] = "2.0",
            ["Billing:RateCards:0:TimeMultipliers:0:FromHour"] = "22",
            ["Billing:RateCards:0:TimeMultipliers:0:ToHour"] = "6",
            ["Billing:RateCards:0:TimeMultipliers:0:Multiplier"] = "0.5",
            ["Billing:Grants:0:Code"] = "alice-lab",
            ["Billing:Grants:0:PrincipalInvestigator"] = "alice",
            ["Billing:Grants:0:Members:0"] = "carol",
            ["Billing:Grants:0:Currency"] = "CRD",
            ["Billing:Grants:0:Budget"] = "1000000",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider(B.T0));
        new Builder(services).UseInMemoryBillingStore().AddGrantBilling(config.GetSection("Billing"));
        using var sp = services.BuildServiceProvider();
        var billing = sp.GetRequiredService<GrantBillingService>();
        var card = await billing.GetCurrentRateCardAsync();
        Assert.Equal(2, card.Version);
        Assert.Equal(TresBillingMode.Max, card.Rules[0].BillingMode);
        Assert.Equal(0.5m, card.TimeMultipliers[0].Multiplier);
        var grant = await billing.GetGrantAsync("alice-lab");
        Assert.Equal(["carol"], grant!.Members);
        Assert.Equal(1_000_000m, (await billing.GetBalanceAsync("alice-lab")).Available);
    }
}
