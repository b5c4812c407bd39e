using CompGrid.Billing;

namespace CompGrid.Billing.Tests.Rates;

[Trait("Category", "Billing")]
public sealed class RateCalculatorTests
{
    private static PricingRequest Job(int cpus = 1, double hours = 1, DateTimeOffset? start = null, string? qos = null, long memMiB = 0, int gpus = 0, string? model = null,
        string? backend = "local", string? partition = null) => new()
    {
        Cpus = cpus, MemoryMiB = memMiB, Gpus = gpus, GpuModel = model, Qos = qos, Backend = backend, Partition = partition,
        Start = start ?? B.T0, Duration = TimeSpan.FromHours(hours),
    };

    [Fact]
    public void GoldExample_QuoteAndCharge_Match57600And19744()
    {
        var card = RateCard.PerCpuHour(3600m);
        var quote = RateCalculator.Quote(card, Job(16) with { Duration = TimeSpan.FromSeconds(3600) });
        var charge = RateCalculator.Charge(card, Job(16) with { Duration = TimeSpan.FromSeconds(1234) });
        Assert.Equal(57600m, quote.ExactTotal);
        Assert.Equal(19744m, charge.ExactTotal);
    }

    [Fact]
    public void Charge_CpuMemoryGpuByModel_AddsComponents()
    {
        var card = new RateCard
        {
            Currency = "EUR",
            Rules = [new RateRule { CpuCoreHour = 0.015m, MemoryGbHour = 0.0015m, GpuHour = 0.30m, GpuHourByModel = new Dictionary<string, decimal> { ["a100"] = 1.20m } }],
        };
        var c = RateCalculator.Charge(card, Job(cpus: 8, hours: 2, memMiB: 32 * 1024, gpus: 2, model: "A100"));
        Assert.Equal(8 * 0.015m * 2 + 32 * 0.0015m * 2 + 2 * 1.20m * 2, c.ExactTotal);
        Assert.Equal(["cpu", "memory", "gpu:a100"], c.Components.Select(x => x.Resource));
        var other = RateCalculator.Charge(card, Job(cpus: 1, hours: 1, gpus: 1, model: "t4"));
        Assert.Equal(0.015m + 0.30m, other.ExactTotal);
    }

    [Theory]
    [InlineData("premium", 2.0)]
    [InlineData("scavenger", 0.5)]
    [InlineData("normal", 1.0)]
    [InlineData(null, 1.0)]
    public void Charge_QosMultiplier_Applies(string? qos, double factor)
    {
        var card = RateCard.PerCpuHour(10m) with { QosMultipliers = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase) { ["premium"] = 2.0m, ["scavenger"] = 0.5m } };
        Assert.Equal(40m * (decimal)factor, RateCalculator.Charge(card, Job(cpus: 4, qos: qos)).ExactTotal);
    }

    [Fact]
    public void Charge_NightWindow_WeightsTheRunAcrossTheBoundary()
    {
        // 21:00–23:00 with nights (22:00–06:00) at half price: 1 h full + 1 h half = 1.5 h.
        var card = RateCard.PerCpuHour(100m) with { TimeMultipliers = [new TimeMultiplier { FromHour = 22, ToHour = 6, Multiplier = 0.5m }] };
        var start = new DateTimeOffset(2026, 3, 2, 21, 0, 0, TimeSpan.Zero);
        var c = RateCalculator.Charge(card, Job(cpus: 1, hours: 2, start: start));
        Assert.Equal(150m, c.ExactTotal);
        Assert.Equal(0.75m, c.TimeMultiplier);
        // A quote cannot know when the job will run: it takes the highest multiplier (1.0 in the day).
        Assert.Equal(200m, RateCalculator.Quote(card, Job(cpus: 1, hours: 2, start: start)).ExactTotal);
    }

    [Fact]
    public void Charge_Weekend_UsesWeekendMultiplierInCardTimeZone()
    {
        var card = RateCard.PerCpuHour(100m) with { WeekendMultiplier = 0.25m, TimeZone = "Europe/Berlin" };
        // Friday 22:30 UTC is Friday 23:30 in Berlin: 30 min full price, then Saturday.
        var start = new DateTimeOffset(2026, 3, 6, 22, 30, 0, TimeSpan.Zero);
        var c = RateCalculator.Charge(card, Job(cpus: 1, hours: 1, start: start));
        Assert.Equal(50m + 12.5m, c.ExactTotal);
    }

    [Fact]
    public void Charge_PerJobFee_AddedUnmultipliedOnlyWhenTheJobRan()
    {
        var card = new RateCard { Rules = [new RateRule { CpuCoreHour = 1m, PerJobFee = 5m }], QosMultipliers = new Dictionary<string, decimal> { ["premium"] = 2m } };
        Assert.Equal(2m + 5m, RateCalculator.Charge(card, Job(cpus: 1, qos: "premium")).ExactTotal);
        Assert.Equal(0m, RateCalculator.Charge(card, Job(cpus: 1, hours: 0)).ExactTotal);
    }

    [Fact]
    public void Charge_TresBillingWeights_PricesBillingUnits()
    {
        var card = new RateCard { Rules = [new RateRule { BillingWeights = "CPU=1.0,Mem=0.25G", BillingMode = TresBillingMode.Sum, BillingUnitHour = 2m }] };
        var c = RateCalculator.Charge(card, Job(cpus: 16, memMiB: 60 * 1024, hours: 0.5));
        Assert.Equal(31m, c.BillingUnits);
        Assert.Equal(31m * 2m * 0.5m, c.ExactTotal);
        var max = card with { Rules = [card.Rules[0] with { BillingMode = TresBillingMode.Max }] };
        Assert.Equal(16m, RateCalculator.Charge(max, Job(cpus: 16, memMiB: 60 * 1024)).BillingUnits);
    }

    [Fact]
    public void Charge_UseReportedBilling_TakesTheBackendsBillingUnits()
    {
        var card = new RateCard { Rules = [new RateRule { BillingWeights = "CPU=1.0,Mem=0.25G", UseReportedBilling = true, BillingUnitHour = 10m }] };
        var job = Job(cpus: 16, memMiB: 60 * 1024);
        Assert.Equal(310m, RateCalculator.Quote(card, job).ExactTotal);                                     // quotes compute 31 units
        Assert.Equal(40m, RateCalculator.Charge(card, job with { ReportedBillingUnits = 4m }).ExactTotal);   // charges take Slurm's billing=4
        Assert.Equal(310m, RateCalculator.Charge(card, job).ExactTotal);                                     // none reported: computed
        var noWeights = new RateCard { Rules = [new RateRule { UseReportedBilling = true, BillingUnitHour = 1m }] };
        Assert.Equal(16m, RateCalculator.Quote(noWeights, job).ExactTotal);                                  // Slurm's default: one unit per CPU
    }

    [Fact]
    public void Select_MostSpecificRuleWins_AndUnknownBackendQuotesTheDearest()
    {
        var card = new RateCard
        {
            Rules =
            [
                new RateRule { Name = "default", CpuCoreHour = 1m },
                new RateRule { Name = "slurm", Backend = "campus", CpuCoreHour = 2m },
                new RateRule { Name = "slurm-gpu", Backend = "campus", Partition = "gpu", CpuCoreHour = 5m },
                new RateRule { Name = "lab-night", NodeClass = "lab", CpuCoreHour = 0.5m },
            ],
            NodeClasses = new Dictionary<string, string> { ["lab-*"] = "lab" },
        };
        Assert.Equal("default", RateCalculator.Charge(card, Job(backend: "local")).Rule);
        Assert.Equal("slurm", RateCalculator.Charge(card, Job(backend: "campus", partition: "cpu")).Rule);
        Assert.Equal("slurm-gpu", RateCalculator.Charge(card, Job(backend: "campus", partition: "gpu")).Rule);
        Assert.Equal("lab-night", RateCalculator.Charge(card, Job(backend: "local") with { NodeNames = ["lab-17"] }).Rule);
        Assert.Equal(5m, RateCalculator.Quote(card, Job(backend: null, partition: null)).ExactTotal);
    }

    [Fact]
    public void Price_NoMatchingRule_ThrowsNoRate()
    {
        var card = new RateCard { Rules = [new RateRule { Backend = "campus", CpuCoreHour = 1m }] };
        var e = Assert.Throws<CompGridException>(() => RateCalculator.Charge(card, Job(backend: "local")));
        Assert.Equal("no-rate", e.Code);
    }

    [Fact]
    public void Charge_ComponentsAddUpToTheExactTotal()
    {
        var card = new RateCard { Rules = [new RateRule { CpuCoreHour = 0.013m, MemoryGbHour = 0.004m, GpuHour = 0.184m, PerJobFee = 0.05m }] };
        var c = RateCalculator.Charge(card, Job(cpus: 7, memMiB: 12345, gpus: 3) with { Duration = TimeSpan.FromSeconds(4321.5) });
        Assert.Equal(c.ExactTotal, c.Components.Sum(x => x.Amount));
    }
}
