using CompGrid.Billing;

namespace CompGrid.Billing.Tests.Rates;

[Trait("Category", "Billing")]
public sealed class TresBillingWeightsTests
{
    private static readonly TresBillingWeights SlurmDocs = TresBillingWeights.Parse("CPU=1.0,Mem=0.25G");

    // Slurm's tres.html example: TRESBillingWeights="CPU=1.0,Mem=0.25G" on 16-CPU / 64 GB nodes.
    [Theory]
    [InlineData(1, 60, 16.0)]
    [InlineData(16, 1, 16.25)]
    [InlineData(16, 60, 31.0)]
    public void Compute_SlurmDocumentedExample_Sum(int cpus, int memGiB, double expected)
    {
        var billing = SlurmDocs.Compute(TresBillingWeights.Counts(cpus, memGiB * 1024L, 1), TresBillingMode.Sum);
        Assert.Equal((decimal)expected, billing);
    }

    // MAX_TRES on the same three jobs, recomputed consistently (Slurm's own MAX example uses other job sizes).
    [Theory]
    [InlineData(1, 60, 15.0)]
    [InlineData(16, 1, 16.0)]
    [InlineData(16, 60, 16.0)]
    [InlineData(4, 64, 16.0)]
    [InlineData(2, 100, 25.0)]
    public void Compute_SameJobs_Max(int cpus, int memGiB, double expected)
    {
        var billing = SlurmDocs.Compute(TresBillingWeights.Counts(cpus, memGiB * 1024L, 1), TresBillingMode.Max);
        Assert.Equal((decimal)expected, billing);
    }

    // protocols.md §2.5: CPU=1.0,Mem=0.25G,GRES/gpu=2.0,license/licA=1.5 with 1 CPU and 8 GiB.
    [Fact]
    public void Compute_GresAndLicenseExample_MatchesSlurmCode()
    {
        var w = TresBillingWeights.Parse("CPU=1.0,Mem=0.25G,GRES/gpu=2.0,license/licA=1.5");
        var noGpu = TresBillingWeights.Counts(1, 8 * 1024, 1);
        Assert.Equal(3.0m, w.Compute(noGpu, TresBillingMode.Sum));
        Assert.Equal(2.0m, w.Compute(noGpu, TresBillingMode.Max));
        Assert.Equal(2.0m, w.Compute(noGpu, TresBillingMode.MaxGres));
        // With one GPU, MAX_TRES_GRES is GRES sum 2 + max(1, 2) = 4 (what assoc_mgr_tres_weighted computes).
        var gpu = TresBillingWeights.Counts(1, 8 * 1024, 1, gpus: 1);
        Assert.Equal(4.0m, w.Compute(gpu, TresBillingMode.MaxGres));
        Assert.Equal(2.0m, w.Compute(gpu, TresBillingMode.Max));
        Assert.Equal(5.0m, w.Compute(gpu, TresBillingMode.Sum));
        // A license is a global TRES: summed outside the MAX.
        var lic = new Dictionary<string, decimal>(gpu, StringComparer.OrdinalIgnoreCase) { ["license/licA"] = 2 };
        Assert.Equal(2.0m + 3.0m, w.Compute(lic, TresBillingMode.Max));
    }

    [Fact]
    public void Compute_BillingTresAndUnweighted_AreIgnored()
    {
        var counts = new Dictionary<string, decimal> { ["cpu"] = 4, ["billing"] = 1000, ["energy"] = 99 };
        Assert.Equal(4m, TresBillingWeights.Parse("cpu=1").Compute(counts));
    }

    [Theory]
    [InlineData("Mem=0.25", 61440, 15360)]     // per MiB
    [InlineData("Mem=1024K", 1, 1048576)]      // per KiB
    [InlineData("Mem=0.5T", 1048576, 0.5)]     // per TiB
    public void Parse_UnitSuffix_RescalesMemoryWeight(string weights, long memMiB, double expected) =>
        Assert.Equal((decimal)expected, TresBillingWeights.Parse(weights).Compute(TresBillingWeights.Counts(0, memMiB, 0)));

    [Theory]
    [InlineData("CPU")]
    [InlineData("CPU=")]
    [InlineData("CPU=abc")]
    [InlineData("Mem=1X")]
    [InlineData("CPU=-1")]
    public void Parse_BadItem_ThrowsNamingIt(string weights)
    {
        var e = Assert.Throws<FormatException>(() => TresBillingWeights.Parse(weights));
        Assert.Contains(weights, e.Message, StringComparison.Ordinal);
    }
}
