using CompGrid.Billing;

namespace CompGrid.Billing.Tests.Ledger;

[Trait("Category", "Billing")]
public sealed class MoneyRoundingTests
{
    private readonly MoneyRounding _r = MoneyRounding.Default;

    [Theory]
    [InlineData(1.005, "EUR", 1.01)]
    [InlineData(1.004999, "EUR", 1.00)]
    [InlineData(2.5, "JPY", 3)]
    [InlineData(1.0005, "KWD", 1.001)]
    [InlineData(-1.005, "EUR", -1.01)]
    public void RoundCharge_HalfAwayFromZero_ToMinorUnit(double exact, string currency, double expected) =>
        Assert.Equal((decimal)expected, _r.RoundCharge((decimal)exact, currency));

    [Theory]
    [InlineData(1.001, "EUR", 1.01)]
    [InlineData(1.00, "EUR", 1.00)]
    [InlineData(0.1, "JPY", 1)]
    public void RoundHold_AlwaysUp(double exact, string currency, double expected) =>
        Assert.Equal((decimal)expected, _r.RoundHold((decimal)exact, currency));

    [Fact]
    public void MinorUnits_OverridesWin()
    {
        var r = new MoneyRounding(new Dictionary<string, int> { ["CRD"] = 0 });
        Assert.Equal(0, r.MinorUnits("CRD"));
        Assert.Equal(2, r.MinorUnits("EUR"));
        Assert.Equal(19744m, r.RoundCharge(19743.5m, "CRD"));
    }

    [Fact]
    public void Apportion_SharesAddUpExactly()
    {
        var shares = _r.Apportion([1m / 3m, 1m / 3m, 1m / 3m], 1.00m, "EUR");
        Assert.Equal(1.00m, shares.Sum());
        Assert.All(shares, s => Assert.True(_r.IsWholeMinorUnits(s, "EUR")));
        Assert.Equal([0.34m, 0.33m, 0.33m], shares);
    }
}
