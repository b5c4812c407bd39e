using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace CompGrid.Billing;

/// <summary>One charge on a statement.</summary>
public sealed record StatementLine
{
    /// <summary>The ledger entry.</summary>
    public long EntryId { get; init; }

    /// <summary>When the charge was posted (the job's end).</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The job.</summary>
    public string JobId { get; init; } = "";

    /// <summary>The job's owner.</summary>
    public string User { get; init; } = "";

    /// <summary>The resources charged, for example <c>cpu=16 mem=64GiB gpu=a100:2 nodes=1</c>.</summary>
    public string Resources { get; init; } = "";

    /// <summary>The wall hours charged.</summary>
    public decimal Hours { get; init; }

    /// <summary>The rates applied, for example <c>cpu 3600/h; qos×1; time×1 (default v1)</c>.</summary>
    public string Rate { get; init; } = "";

    /// <summary>The amount charged (positive; the ledger holds it negated).</summary>
    public decimal Amount { get; init; }
}

/// <summary>A non-charge entry on a statement: an allocation, adjustment, refund or expiration.</summary>
public sealed record StatementAdjustment
{
    /// <summary>The ledger entry.</summary>
    public long EntryId { get; init; }

    /// <summary>When.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The kind (<see cref="LedgerEntryKind.Allocation"/>, <see cref="LedgerEntryKind.Adjustment"/> or <see cref="LedgerEntryKind.Expiration"/>).</summary>
    public LedgerEntryKind Kind { get; init; }

    /// <summary>The signed amount (its effect on the balance).</summary>
    public decimal Amount { get; init; }

    /// <summary>Who posted it.</summary>
    public string? Actor { get; init; }

    /// <summary>Why.</summary>
    public string? Reason { get; init; }
}

/// <summary>Charges of one user in the period.</summary>
/// <param name="User">The user.</param>
/// <param name="Jobs">The number of jobs charged.</param>
/// <param name="Hours">The wall hours charged.</param>
/// <param name="Amount">The amount charged.</param>
public sealed record UserSummary(string User, int Jobs, decimal Hours, decimal Amount);

/// <summary>Charges for one resource in the period; amounts are shares of the rounded charges, so they add up to the total.</summary>
/// <param name="Resource">The resource (<c>cpu</c>, <c>memory</c>, <c>gpu:a100</c>, <c>billing</c>, <c>fee</c>).</param>
/// <param name="UnitHours">Quantity × hours (core-hours, GiB-hours, GPU-hours, billing-unit-hours; the number of fees).</param>
/// <param name="Amount">The amount charged.</param>
public sealed record ResourceSummary(string Resource, decimal UnitHours, decimal Amount);

/// <summary>
/// A grant's statement for a period [<see cref="From"/>, <see cref="To"/>): the opening balance, one line per charge,
/// the other entries, the closing balance, and summaries by user and by resource. Everything is a sum of ledger
/// entries: <c>Closing = Opening − TotalCharges + TotalAdjustments</c>, and both summaries add up to
/// <see cref="TotalCharges"/>.
/// </summary>
public sealed record Statement
{
    /// <summary>The grant's code.</summary>
    public string GrantCode { get; init; } = "";

    /// <summary>The grant's title.</summary>
    public string Title { get; init; } = "";

    /// <summary>The principal investigator.</summary>
    public string PrincipalInvestigator { get; init; } = "";

    /// <summary>The currency.</summary>
    public string Currency { get; init; } = "";

    /// <summary>The start of the period (inclusive).</summary>
    public DateTimeOffset From { get; init; }

    /// <summary>The end of the period (exclusive).</summary>
    public DateTimeOffset To { get; init; }

    /// <summary>The posted balance before <see cref="From"/>.</summary>
    public decimal OpeningBalance { get; init; }

    /// <summary>The charges, in ledger order.</summary>
    public IReadOnlyList<StatementLine> Charges { get; init; } = [];

    /// <summary>Allocations, adjustments, refunds and expirations, in ledger order.</summary>
    public IReadOnlyList<StatementAdjustment> Adjustments { get; init; } = [];

    /// <summary>The sum of <see cref="Charges"/> amounts.</summary>
    public decimal TotalCharges { get; init; }

    /// <summary>The sum of <see cref="Adjustments"/> amounts.</summary>
    public decimal TotalAdjustments { get; init; }

    /// <summary>The posted balance before <see cref="To"/>.</summary>
    public decimal ClosingBalance { get; init; }

    /// <summary>Holds still active at <see cref="To"/> (informational; not part of the balance).</summary>
    public decimal HeldAtClose { get; init; }

    /// <summary>Charges by user.</summary>
    public IReadOnlyList<UserSummary> ByUser { get; init; } = [];

    /// <summary>Charges by resource.</summary>
    public IReadOnlyList<ResourceSummary> ByResource { get; init; } = [];

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The statement as JSON (camelCase, amounts as JSON numbers with their exact decimal digits).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a statement written by <see cref="ToJson"/>.</summary>
    public static Statement FromJson(string json) => JsonSerializer.Deserialize<Statement>(json, JsonOptions) ?? throw new FormatException("The JSON holds no statement.");

    /// <summary>
    /// The statement as CSV (RFC 4180, invariant culture): a header, then one row per entry with
    /// <c>section</c> = <c>opening</c>, <c>charge</c>, <c>allocation</c>/<c>adjustment</c>/<c>expiration</c>,
    /// <c>user</c>, <c>resource</c>, <c>total-charges</c>, <c>total-adjustments</c>, <c>closing</c>.
    /// </summary>
    public string ToCsv()
    {
        var sb = new StringBuilder();
        sb.Append("section,at,entry,job,user,resources,hours,rate,amount,currency,reason\n");
        void Row(string section, DateTimeOffset? at, long? entry, string? job, string? user, string? resources, decimal? hours, string? rate, decimal amount, string? reason)
        {
            sb.Append(Csv(section)).Append(',')
              .Append(at?.ToString("O", CultureInfo.InvariantCulture)).Append(',')
              .Append(entry?.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(Csv(job)).Append(',').Append(Csv(user)).Append(',').Append(Csv(resources)).Append(',')
              .Append(hours?.ToString(CultureInfo.InvariantCulture)).Append(',').Append(Csv(rate)).Append(',')
              .Append(amount.ToString(CultureInfo.InvariantCulture)).Append(',').Append(Csv(Currency)).Append(',')
              .Append(Csv(reason)).Append('\n');
        }
        Row("opening", From, null, null, null, null, null, null, OpeningBalance, null);
        foreach (var l in Charges) Row("charge", l.At, l.EntryId, l.JobId, l.User, l.Resources, l.Hours, l.Rate, l.Amount, null);
        foreach (var a in Adjustments)
            Row(a.Kind.ToString().ToLowerInvariant(), a.At, a.EntryId, null, a.Actor, null, null, null, a.Amount, a.Reason);
        foreach (var u in ByUser) Row("user", null, null, null, u.User, null, u.Hours, null, u.Amount, null);
        foreach (var r in ByResource) Row("resource", null, null, null, null, r.Resource, r.UnitHours, null, r.Amount, null);
        Row("total-charges", null, null, null, null, null, null, null, TotalCharges, null);
        Row("total-adjustments", null, null, null, null, null, null, null, TotalAdjustments, null);
        Row("closing", To, null, null, null, null, null, null, ClosingBalance, null);
        return sb.ToString();
    }

    private static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        // Quote fields with separators; prefix formula-like text so spreadsheets do not evaluate it.
        if (value[0] is '=' or '+' or '-' or '@') value = "'" + value;
        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{GrantCode} {From:yyyy-MM-dd}..{To:yyyy-MM-dd}: opening {OpeningBalance}, charges {TotalCharges} ({Charges.Count}), adjustments {TotalAdjustments}, closing {ClosingBalance} {Currency}";
}
