using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CompGrid.Billing;

/// <summary>
/// Grant billing: grants and their allocations, quotes, holds, charges, adjustments and statements over an
/// <see cref="IBillingStore"/>. The engine reaches it through <see cref="AdmissionCheck"/> (quote and hold) and
/// <see cref="UsageSink"/> (charge); portals call it directly. Thread-safe; the store is initialized on first use.
/// </summary>
public sealed partial class GrantBillingService
{
    private readonly IBillingStore _store;
    private readonly GrantBillingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private volatile bool _initialized;

    /// <summary>Creates the service. Throws <see cref="BillingValidationException"/> when the options are invalid.</summary>
    public GrantBillingService(IBillingStore store, GrantBillingOptions options, TimeProvider? timeProvider = null, ILogger<GrantBillingService>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
            throw new BillingValidationException(errors.Select(e => new ValidationError("billing." + e.Split(':')[0], e[(e.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())).ToList());
        _store = store;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Rounding = new MoneyRounding(options.MinorUnits);
        AdmissionCheck = new GrantBillingAdmissionCheck(this);
        UsageSink = new GrantBillingUsageSink(this);
    }

    /// <summary>The admission check: rejects non-members, inactive grants and jobs the grant cannot afford; places the hold.</summary>
    public IAdmissionCheck AdmissionCheck { get; }

    /// <summary>The usage sink: charges finished jobs (replacing their hold), releases the hold of jobs that never started.</summary>
    public IUsageSink UsageSink { get; }

    /// <summary>The rounding rules in force (see <see cref="MoneyRounding"/>).</summary>
    public MoneyRounding Rounding { get; }

    /// <summary>The store.</summary>
    public IBillingStore Store => _store;

    /// <summary>Initializes the store, saves the configured rate cards and creates the configured grants that are missing. Idempotent.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        if (_initialized) return;
        await _initLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized) return;
            await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
            foreach (var card in _options.RateCards)
                await _store.TrySaveRateCardAsync(card, cancellationToken).ConfigureAwait(false);
            foreach (var grant in _options.Grants)
            {
                await ValidateGrantAsync(grant, cancellationToken).ConfigureAwait(false);
                await _store.TryCreateGrantAsync(grant, cancellationToken).ConfigureAwait(false);
                // Keyed: posted once, and posted after a crash between creating the grant and allocating its budget.
                await AllocateBudgetAsync(await _store.GetGrantAsync(grant.Code, cancellationToken).ConfigureAwait(false) ?? grant, _options.Actor, cancellationToken).ConfigureAwait(false);
            }
            _initialized = true;
        }
        finally
        {
            _initLock.Release();
        }
    }

    private Task EnsureInitializedAsync(CancellationToken cancellationToken) => _initialized ? Task.CompletedTask : InitializeAsync(cancellationToken);

    // ---------------------------------------------------------------- grants

    /// <summary>Creates a grant and allocates its <see cref="Grant.Budget"/> (expiring at <see cref="Grant.ValidTo"/>).</summary>
    public async Task<Grant> CreateGrantAsync(Grant grant, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await ValidateGrantAsync(grant, cancellationToken).ConfigureAwait(false);
        if (!await _store.TryCreateGrantAsync(grant, cancellationToken).ConfigureAwait(false))
            throw new CompGridException($"Grant '{grant.Code}' exists already.") { Code = CompGridErrorCodes.GrantExists, Operation = "create-grant" };
        await AllocateBudgetAsync(grant, actor, cancellationToken).ConfigureAwait(false);
        return grant;
    }

    private async Task AllocateBudgetAsync(Grant grant, string actor, CancellationToken cancellationToken)
    {
        if (grant.Budget <= 0) return;
        await _store.WriteAsync(LedgerWrite.Append(new LedgerEntry
        {
            GrantCode = grant.Code, Kind = LedgerEntryKind.Allocation, Amount = grant.Budget, Currency = grant.Currency,
            At = _time.GetUtcNow(), Actor = actor, Reason = "initial budget", Key = "budget:" + grant.Code, ExpiresAt = grant.ValidTo,
        }), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces a grant's settings (title, members, status, validity, credit limit, parent). Its currency cannot change.</summary>
    public async Task<Grant> UpdateGrantAsync(Grant grant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(grant);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var existing = await RequireGrantAsync(grant.Code, cancellationToken).ConfigureAwait(false);
        if (!string.Equals(existing.Currency, grant.Currency, StringComparison.Ordinal))
            throw new BillingValidationException("currency", $"cannot change from {existing.Currency} once the grant exists.");
        await ValidateGrantAsync(grant, cancellationToken).ConfigureAwait(false);
        if (!await _store.TryUpdateGrantAsync(grant with { Budget = existing.Budget }, cancellationToken).ConfigureAwait(false))
            throw new CompGridException($"Grant '{grant.Code}' was not found.") { Code = CompGridErrorCodes.UnknownGrant };
        return grant;
    }

    /// <summary>One grant, or null.</summary>
    public async Task<Grant?> GetGrantAsync(string code, CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await _store.GetGrantAsync(code, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every grant, or only those <paramref name="user"/> may charge.</summary>
    public async Task<IReadOnlyList<Grant>> ListGrantsAsync(string? user = null, CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var all = await _store.ListGrantsAsync(cancellationToken).ConfigureAwait(false);
        return user is null ? all : all.Where(g => g.CanCharge(user)).ToList();
    }

    /// <summary>A grant's balances, derived from its ledger.</summary>
    public async Task<GrantBalance> GetBalanceAsync(string code, CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await _store.GetBalanceAsync(code, null, cancellationToken).ConfigureAwait(false)
            ?? throw new CompGridException($"Grant '{code}' was not found.") { Code = CompGridErrorCodes.UnknownGrant };
    }

    /// <summary>
    /// The grant and every grant below it (<see cref="Grant.ParentCode"/>), each with its balance, parents before
    /// children, plus their sum — a department's view of its groups and projects. Every grant in the tree must use the
    /// grant's currency.
    /// </summary>
    public async Task<(IReadOnlyList<(Grant Grant, GrantBalance Balance)> Grants, GrantBalance Total)> GetRollupAsync(string code, CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var root = await RequireGrantAsync(code, cancellationToken).ConfigureAwait(false);
        var all = await _store.ListGrantsAsync(cancellationToken).ConfigureAwait(false);
        var children = all.Where(g => g.ParentCode is not null).ToLookup(g => g.ParentCode!, StringComparer.Ordinal);
        var tree = new List<(Grant, GrantBalance)>();
        var queue = new Queue<Grant>([root]);
        while (queue.TryDequeue(out var g))
        {
            if (!string.Equals(g.Currency, root.Currency, StringComparison.OrdinalIgnoreCase))
                throw new CompGridException($"Grant '{g.Code}' is in {g.Currency}, not {root.Currency} like '{root.Code}'; balances cannot be added up.") { Code = CompGridErrorCodes.CurrencyMismatch };
            tree.Add((g, await GetBalanceAsync(g.Code, cancellationToken).ConfigureAwait(false)));
            foreach (var c in children[g.Code]) queue.Enqueue(c);
        }
        var total = new GrantBalance
        {
            GrantCode = root.Code, Currency = root.Currency,
            Allocated = tree.Sum(t => t.Item2.Allocated), Adjusted = tree.Sum(t => t.Item2.Adjusted), Expired = tree.Sum(t => t.Item2.Expired),
            Charged = tree.Sum(t => t.Item2.Charged), Held = tree.Sum(t => t.Item2.Held), CreditLimit = tree.Sum(t => t.Item2.CreditLimit),
        };
        return (tree, total);
    }

    /// <summary>Adds money to a grant, optionally expiring (with a carry-over fraction of the unused remainder).</summary>
    public async Task<LedgerEntry> AllocateAsync(string code, decimal amount, string actor, string reason, DateTimeOffset? expiresAt = null,
        decimal carryOverFraction = 0, string? key = null, CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var grant = await RequireGrantAsync(code, cancellationToken).ConfigureAwait(false);
        if (amount <= 0) throw new BillingValidationException("amount", "must be positive.");
        CheckWhole(amount, grant.Currency);
        if (carryOverFraction is < 0 or > 1) throw new BillingValidationException("carryOverFraction", "must be between 0 and 1.");
        RequireText(actor, "actor");
        return await AppendOneAsync(new LedgerEntry
        {
            GrantCode = code, Kind = LedgerEntryKind.Allocation, Amount = amount, Currency = grant.Currency, At = _time.GetUtcNow(),
            Actor = actor, Reason = reason, ExpiresAt = expiresAt, CarryOverFraction = carryOverFraction, Key = key,
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Posts an adjustment: positive for a refund or credit, negative for a debit. A reason and an actor are required.</summary>
    public async Task<LedgerEntry> AdjustAsync(string code, decimal amount, string actor, string reason, string? jobId = null, string? key = null,
        CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var grant = await RequireGrantAsync(code, cancellationToken).ConfigureAwait(false);
        if (amount == 0) throw new BillingValidationException("amount", "must not be zero.");
        CheckWhole(amount, grant.Currency);
        RequireText(actor, "actor");
        RequireText(reason, "reason");
        return await AppendOneAsync(new LedgerEntry
        {
            GrantCode = code, Kind = LedgerEntryKind.Adjustment, Amount = amount, Currency = grant.Currency, At = _time.GetUtcNow(),
            Actor = actor, Reason = reason, JobId = jobId, Key = key,
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<LedgerEntry> AppendOneAsync(LedgerEntry entry, CancellationToken cancellationToken)
    {
        var result = await _store.WriteAsync(LedgerWrite.Append(entry), cancellationToken).ConfigureAwait(false);
        if (result.Status == LedgerWriteStatus.Appended) return result.Entries[0];
        if (result.Status == LedgerWriteStatus.GrantNotFound)
            throw new CompGridException($"Grant '{entry.GrantCode}' was not found.") { Code = CompGridErrorCodes.UnknownGrant };
        // The key exists: the same request was applied before; return what was stored.
        var existing = await _store.GetEntriesAsync(new LedgerQuery { GrantCode = entry.GrantCode }, cancellationToken).ConfigureAwait(false);
        return existing.FirstOrDefault(e => e.Key == entry.Key)
            ?? throw new CompGridException($"Ledger key '{entry.Key}' is used by another grant.") { Code = CompGridErrorCodes.DuplicateKey };
    }

    /// <summary>
    /// Expires allocations whose <see cref="LedgerEntry.ExpiresAt"/> has passed: posts an expiration for the unused
    /// remainder and, when the allocation has a carry-over fraction, a new allocation for that part of it (valid for
    /// as long again). Charges consume the earliest-expiring allocations first, so the remainder of an allocation is
    /// what the posted balance holds beyond the allocations that expire later. Idempotent; returns the number expired.
    /// </summary>
    public async Task<int> ExpireAllocationsAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var count = 0;
        foreach (var grant in await _store.ListGrantsAsync(cancellationToken).ConfigureAwait(false))
        {
            var entries = await _store.GetEntriesAsync(new LedgerQuery { GrantCode = grant.Code }, cancellationToken).ConfigureAwait(false);
            var closed = entries.Where(e => e.Kind == LedgerEntryKind.Expiration && e.RefEntryId is not null).Select(e => e.RefEntryId!.Value).ToHashSet();
            var live = entries.Where(e => e.Kind == LedgerEntryKind.Allocation && !closed.Contains(e.Id)).ToList();
            var due = live.Where(e => e.ExpiresAt is { } x && x <= now).OrderBy(e => e.ExpiresAt).ThenBy(e => e.Id).ToList();
            if (due.Count == 0) continue;
            var balance = entries.Where(e => e.IsPosted).Sum(e => e.Amount);
            foreach (var alloc in due)
            {
                var later = live.Where(e => e.Id != alloc.Id && (e.ExpiresAt is null || e.ExpiresAt > alloc.ExpiresAt || (e.ExpiresAt == alloc.ExpiresAt && e.Id > alloc.Id)))
                    .Sum(e => e.Amount);
                var remainder = Math.Clamp(balance - later, 0, alloc.Amount);
                var carried = Math.Round(remainder * alloc.CarryOverFraction, Rounding.MinorUnits(grant.Currency), MidpointRounding.ToZero);
                var batch = new List<LedgerEntry>
                {
                    new()
                    {
                        GrantCode = grant.Code, Kind = LedgerEntryKind.Expiration, Amount = -remainder, Currency = grant.Currency, At = alloc.ExpiresAt!.Value,
                        Actor = _options.Actor, Reason = $"allocation #{alloc.Id} expired", Key = "expire:" + alloc.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), RefEntryId = alloc.Id,
                    },
                };
                if (carried > 0)
                {
                    batch.Add(new LedgerEntry
                    {
                        GrantCode = grant.Code, Kind = LedgerEntryKind.Allocation, Amount = carried, Currency = grant.Currency, At = alloc.ExpiresAt.Value,
                        Actor = _options.Actor, Reason = $"carry-over from allocation #{alloc.Id}", Key = "carry:" + alloc.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        RefEntryId = alloc.Id, ExpiresAt = alloc.ExpiresAt.Value + (alloc.ExpiresAt.Value - alloc.At),
                    });
                }
                if ((await _store.WriteAsync(LedgerWrite.Append(batch), cancellationToken).ConfigureAwait(false)).Status != LedgerWriteStatus.Appended) continue;
                balance -= remainder - carried;
                live.Remove(alloc);
                count++;
                Log.AllocationExpired(_logger, alloc.Id, grant.Code, remainder, grant.Currency, carried);
            }
        }
        return count;
    }

    // ---------------------------------------------------------------- rate cards and quotes

    /// <summary>Stores a new rate card version; new quotes use the highest version of <see cref="GrantBillingOptions.RateCardName"/>.</summary>
    public async Task PublishRateCardAsync(RateCard card, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(card);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var probe = new GrantBillingOptions { RateCards = [card], RateCardName = card.Name };
        var errors = probe.Validate();
        if (errors.Count > 0) throw new BillingValidationException("rateCard", string.Join(" ", errors));
        if (!await _store.TrySaveRateCardAsync(card, cancellationToken).ConfigureAwait(false))
            throw new CompGridException($"Rate card '{card.Name}' v{card.Version} exists already; publish a higher version.") { Code = CompGridErrorCodes.RateCardExists };
    }

    /// <summary>The rate card new quotes use.</summary>
    public async Task<RateCard> GetCurrentRateCardAsync(CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        return await _store.GetRateCardAsync(_options.RateCardName, null, cancellationToken).ConfigureAwait(false)
            ?? throw new CompGridException($"Rate card '{_options.RateCardName}' is not in the store.") { Code = CompGridErrorCodes.NoRate };
    }

    /// <summary>"What will this cost?": the maximum cost of a job (the hold admission would place), and whether the grant can cover it.</summary>
    public async Task<Quote> QuoteAsync(QuoteRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var walltime = request.Walltime ?? _options.DefaultWalltime;
        if (walltime <= TimeSpan.Zero) throw new BillingValidationException("walltime", "must be positive.");
        var r = request.Resources;
        if (r.Cpus < 1 || r.Nodes < 1 || r.Gpus < 0 || r.MemoryMiB < 0) throw new BillingValidationException("resources", "cpus and nodes must be at least 1; memory and gpus not negative.");
        return await QuoteCoreAsync(request.Account, r, MemoryPerNode(r, 0), walltime, request.Backend, request.Partition, request.Qos, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A quote for a job specification (its walltime, or the default).</summary>
    public Task<Quote> QuoteAsync(JobSpec spec, CancellationToken cancellationToken = default) => QuoteAsync(QuoteRequest.FromJob(spec), cancellationToken);

    private async Task<Quote> QuoteCoreAsync(string? account, ResourceRequest r, long memPerNode, TimeSpan walltime,
        string? backend, string? partition, string? qos, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var card = await GetCurrentRateCardAsync(cancellationToken).ConfigureAwait(false);
        CostBreakdown breakdown;
        try
        {
            // Checked: cpus × nodes (or memory, gpus) that wraps would turn a huge job into a cheap — or negative — hold.
            breakdown = RateCalculator.Quote(card, new PricingRequest
            {
                Backend = backend, Partition = partition, Qos = qos, Cpus = checked(r.Cpus * r.Nodes), MemoryMiB = checked(memPerNode * r.Nodes),
                Gpus = checked(r.Gpus * r.Nodes), GpuModel = r.GpuModel, Nodes = r.Nodes, Start = _time.GetUtcNow(), Duration = walltime,
            });
        }
        catch (OverflowException)
        {
            throw new BillingValidationException("resources", "cpus, memory or gpus × nodes, or the cost over the walltime, is out of range.");
        }
        decimal? spendable = null;
        if (account is not null)
        {
            var grant = await RequireGrantAsync(account, cancellationToken).ConfigureAwait(false);
            CheckCurrency(grant, card);
            spendable = (await _store.GetBalanceAsync(account, null, cancellationToken).ConfigureAwait(false))?.Spendable;
        }
        return new Quote { Account = account, Currency = card.Currency, Amount = Rounding.RoundHold(breakdown.ExactTotal, card.Currency), Breakdown = breakdown, Spendable = spendable };
    }

    // ---------------------------------------------------------------- hold and charge

    internal async Task<AdmissionResult> CheckAndHoldAsync(AdmissionContext context, CancellationToken cancellationToken)
    {
        var spec = context.Spec;
        if (spec.Account is not { } code)
            return _options.RequireAccount ? Refuse(context, "An account (grant code) is required to run jobs here.", CompGridErrorCodes.AccountRequired) : AdmissionResult.Admit();
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var grant = await _store.GetGrantAsync(code, cancellationToken).ConfigureAwait(false);
        if (grant is null) return Refuse(context, $"Grant '{code}' does not exist.", CompGridErrorCodes.UnknownGrant);
        var grantStatus = grant.StatusAt(context.Now);
        if (grantStatus != GrantStatus.Active) return Refuse(context, $"Grant '{code}' is {grantStatus.ToString().ToLowerInvariant()}; no new jobs may be charged to it.", CompGridErrorCodes.GrantInactive);
        if (!grant.CanCharge(spec.Owner)) return Refuse(context, $"User '{spec.Owner}' is not a member of grant '{code}'.", CompGridErrorCodes.NotAMember);

        Quote quote;
        try
        {
            var r = spec.Resources;
            var memPerNode = MemoryPerNode(r, context.MemoryMiBPerNode);
            var walltime = context.Walltime > TimeSpan.Zero ? context.Walltime : spec.Walltime ?? _options.DefaultWalltime;
            quote = await QuoteCoreAsync(code, r, memPerNode, walltime, context.Backend ?? spec.Constraints.Backend,
                spec.Constraints.Partition, spec.Qos, cancellationToken).ConfigureAwait(false);
        }
        catch (CompGridException e) when (e.Code is CompGridErrorCodes.NoRate or CompGridErrorCodes.CurrencyMismatch or CompGridErrorCodes.Invalid)
        {
            return Refuse(context, e.Message, e.Code);
        }

        var hold = new LedgerEntry
        {
            GrantCode = code, Kind = LedgerEntryKind.Hold, Amount = -quote.Amount, Currency = grant.Currency, At = context.Now,
            JobId = context.JobId, User = spec.Owner, Actor = _options.Actor, Reason = "quote", Details = quote.Breakdown,
        };
        var status = HoldStatus.GrantNotFound;
        var result = await _store.WriteAsync(new LedgerWrite(code, context.JobId, state =>
        {
            var decision = LedgerRules.PlaceHold(state, hold, spec.Owner);
            status = decision.Status;
            return decision.Append;
        }), cancellationToken).ConfigureAwait(false);
        if (result.Status == LedgerWriteStatus.DuplicateKey) status = HoldStatus.AlreadyExists;
        switch (status)
        {
            case HoldStatus.Placed:
                Log.HoldPlaced(_logger, quote.Amount, grant.Currency, code, context.JobId);
                BillingTelemetry.Holds.Add(1);
                return AdmissionResult.Admit();
            case HoldStatus.AlreadyExists:
                return AdmissionResult.Admit();
            case HoldStatus.GrantNotFound:
                return Refuse(context, $"Grant '{code}' does not exist.", CompGridErrorCodes.UnknownGrant);
            case HoldStatus.NotAMember:
                return Refuse(context, $"User '{spec.Owner}' is not a member of grant '{code}'.", CompGridErrorCodes.NotAMember);
            default:
                var message = new InsufficientFundsException(code, result.State?.Balance.Spendable ?? 0, quote.Amount, grant.Currency).Message;
                return Refuse(context, message, CompGridErrorCodes.InsufficientFunds);
        }
    }

    private AdmissionResult Refuse(AdmissionContext context, string reason, string code)
    {
        Log.Refused(_logger, context.JobId, reason);
        BillingTelemetry.Refusals.Add(1, new KeyValuePair<string, object?>("code", code));
        return AdmissionResult.Reject(reason, code);
    }

    /// <summary>Releases the hold of a job (for example one that was cancelled before it started). Returns whether a hold was active.</summary>
    public async Task<bool> ReleaseHoldAsync(string jobId, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var entries = await _store.GetEntriesAsync(new LedgerQuery { JobId = jobId }, cancellationToken).ConfigureAwait(false);
        if (LedgerRules.ActiveHold(entries) is not { } hold) return false;
        var now = _time.GetUtcNow();
        var result = await _store.WriteAsync(new LedgerWrite(hold.GrantCode, jobId, state => LedgerRules.Release(state, now, _options.Actor, reason)), cancellationToken)
            .ConfigureAwait(false);
        if (result.Status != LedgerWriteStatus.Appended) return false;
        Log.HoldReleased(_logger, jobId, reason);
        return true;
    }

    /// <summary>
    /// Charges a finished job from its usage record; <see cref="ChargeAsync(UsageRecord, TimeSpan?, CancellationToken)"/>
    /// with no observation of its own beyond the record's (the engine builds the record from what it observed).
    /// </summary>
    public Task<ChargeResult> ChargeAsync(UsageRecord usage, CancellationToken cancellationToken = default) => ChargeAsync(usage, null, cancellationToken);

    /// <summary>
    /// Charges a finished job once, at the rate card version of the hold placed when it was admitted, replacing that
    /// hold atomically. The rules, in order:
    /// <list type="number">
    /// <item>a record with a negative quantity, time or TRES value is refused (<see cref="BillingValidationException"/>
    /// naming the field) and changes nothing;</item>
    /// <item>the grant charged is the grant of the job's hold — never an account the record names; a job that was
    /// never held is not billed, and a record naming another account is flagged <see cref="LedgerEntryFlags.AccountMismatch"/>;</item>
    /// <item>the job's owner (the one admitted with the hold) must still be a member of that grant: otherwise nothing is
    /// charged, the hold is released and the result is <see cref="ChargeStatus.Refused"/>;</item>
    /// <item>a job that never started (elapsed 0) only has its hold released;</item>
    /// <item>the elapsed time is at most <paramref name="observedElapsed"/> (when given), and the amount at most what
    /// the hold's quoted resources cost for that time: a larger record is clamped, logged and flagged
    /// <see cref="LedgerEntryFlags.Clamped"/>;</item>
    /// <item>allocated resources × elapsed × rates, rounded once (<see cref="MoneyRounding.RoundCharge"/>). Idempotent by job id.</item>
    /// </list>
    /// </summary>
    public async Task<ChargeResult> ChargeAsync(UsageRecord usage, TimeSpan? observedElapsed, CancellationToken cancellationToken = default)
    {
        ValidateUsage(usage, observedElapsed);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var jobEntries = await _store.GetEntriesAsync(new LedgerQuery { JobId = usage.JobId }, cancellationToken).ConfigureAwait(false);
        // The grant of the hold placed at admission, from the engine's own record: never one the usage record names.
        if (LedgerRules.AdmissionHold(jobEntries) is not { } hold)
        {
            if (usage.Account is not null) Log.NoHold(_logger, usage.JobId, usage.Account);
            return new ChargeResult(ChargeStatus.NotBilled, 0, null);
        }
        var code = hold.GrantCode;
        var flags = LedgerEntryFlags.None;
        if (usage.Account is { } named && !string.Equals(named, code, StringComparison.Ordinal))
        {
            Log.AccountMismatch(_logger, usage.JobId, named, code);
            flags |= LedgerEntryFlags.AccountMismatch;
        }
        var grant = await _store.GetGrantAsync(code, cancellationToken).ConfigureAwait(false);
        if (grant is null)
        {
            Log.UnknownGrant(_logger, usage.JobId, code);
            return new ChargeResult(ChargeStatus.NotBilled, 0, null);
        }
        var owner = hold.User ?? usage.User;
        if (!grant.CanCharge(owner))
        {
            Log.NotAMember(_logger, usage.JobId, owner, code);
            await ReleaseHoldAsync(usage.JobId, $"owner '{owner}' is no longer a member of grant '{code}'", cancellationToken).ConfigureAwait(false);
            return new ChargeResult(ChargeStatus.Refused, 0, null);
        }
        if (usage.Elapsed <= TimeSpan.Zero || usage.StartedAt is null)
        {
            await ReleaseHoldAsync(usage.JobId, $"job {usage.FinalState.ToString().ToLowerInvariant()} without starting", cancellationToken).ConfigureAwait(false);
            return new ChargeResult(ChargeStatus.Released, 0, null);
        }
        var card = (hold.Details is { } d ? await _store.GetRateCardAsync(d.RateCard, d.RateCardVersion, cancellationToken).ConfigureAwait(false) : null)
            ?? await GetCurrentRateCardAsync(cancellationToken).ConfigureAwait(false);
        CheckCurrency(grant, card);
        var elapsed = usage.Elapsed;
        if (observedElapsed is { } observed && observed < elapsed)
        {
            elapsed = observed;
            flags |= LedgerEntryFlags.Clamped;
        }
        var (amount, breakdown) = Price(usage, card, grant.Currency, elapsed, hold.Details, ref flags);
        var charge = new LedgerEntry
        {
            GrantCode = code, Kind = LedgerEntryKind.Charge, Amount = -amount, Currency = grant.Currency,
            At = usage.EndedAt ?? _time.GetUtcNow(), JobId = usage.JobId, User = owner, Actor = _options.Actor,
            Reason = usage.FinalState.ToString().ToLowerInvariant(), Details = breakdown, Flags = flags,
        };
        var result = await _store.WriteAsync(new LedgerWrite(code, usage.JobId, state => LedgerRules.Charge(state, charge)), cancellationToken).ConfigureAwait(false);
        if (result.Status == LedgerWriteStatus.GrantNotFound) return new ChargeResult(ChargeStatus.NotBilled, 0, null);
        if (result.Status != LedgerWriteStatus.Appended)
        {
            Log.DuplicateCharge(_logger, usage.JobId);
            return new ChargeResult(ChargeStatus.AlreadyCharged, 0, null);
        }
        if ((flags & LedgerEntryFlags.Clamped) != 0) Log.ChargeClamped(_logger, usage.JobId, amount, grant.Currency, usage.Elapsed, elapsed);
        Log.Charged(_logger, usage.JobId, amount, grant.Currency, code);
        BillingTelemetry.Charges.Add(1);
        BillingTelemetry.Amount.Add((double)amount, new KeyValuePair<string, object?>("currency", grant.Currency));
        return new ChargeResult(ChargeStatus.Charged, amount, breakdown);
    }

    /// <summary>The charge for what the record reports, capped by what the quoted resources cost for <paramref name="elapsed"/>.</summary>
    private (decimal Amount, CostBreakdown Breakdown) Price(UsageRecord usage, RateCard card, string currency, TimeSpan elapsed, CostBreakdown? quote, ref LedgerEntryFlags flags)
    {
        var start = usage.StartedAt!.Value;
        var breakdown = RateCalculator.Charge(card, new PricingRequest
        {
            Backend = usage.Backend, Partition = usage.Partition, Qos = usage.Qos, NodeNames = usage.Nodes,
            Cpus = usage.AllocatedCpus, MemoryMiB = usage.AllocatedMemoryMiB, Gpus = usage.AllocatedGpus, GpuModel = usage.GpuModel,
            Nodes = Math.Max(1, usage.NodeCount), Start = start, Duration = elapsed,
            ReportedBillingUnits = usage.Tres.FirstOrDefault(t => string.Equals(t.Key, "billing", StringComparison.OrdinalIgnoreCase)) is { Key: not null } b ? b.Value : null,
        });
        var amount = Rounding.RoundCharge(breakdown.ExactTotal, currency);
        if (quote is null) return (amount, breakdown);
        // The most the admitted job could have cost for that time: its quoted resources, priced as a quote prices them.
        var cap = RateCalculator.Quote(card, new PricingRequest
        {
            Backend = quote.Backend, Partition = quote.Partition, Qos = quote.Qos, Cpus = quote.Cpus, MemoryMiB = quote.MemoryMiB,
            Gpus = quote.Gpus, GpuModel = quote.GpuModel, Nodes = Math.Max(1, quote.Nodes), Start = start, Duration = elapsed,
        });
        var capAmount = Rounding.RoundCharge(cap.ExactTotal, currency);
        if (amount <= capAmount) return (amount, breakdown);
        flags |= LedgerEntryFlags.Clamped;
        return (capAmount, cap);
    }

    private static void ValidateUsage(UsageRecord usage, TimeSpan? observedElapsed)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var errors = new List<ValidationError>();
        if (string.IsNullOrEmpty(usage.JobId)) errors.Add(new("usage.jobId", "is required."));
        if (usage.AllocatedCpus < 0) errors.Add(new("usage.allocatedCpus", "must not be negative."));
        if (usage.AllocatedMemoryMiB < 0) errors.Add(new("usage.allocatedMemoryMiB", "must not be negative."));
        if (usage.AllocatedGpus < 0) errors.Add(new("usage.allocatedGpus", "must not be negative."));
        if (usage.NodeCount < 0) errors.Add(new("usage.nodeCount", "must not be negative."));
        if (usage.Elapsed < TimeSpan.Zero) errors.Add(new("usage.elapsed", "must not be negative."));
        if (usage.CpuTime < TimeSpan.Zero) errors.Add(new("usage.cpuTime", "must not be negative."));
        if (usage.PeakMemoryBytes < 0) errors.Add(new("usage.peakMemoryBytes", "must not be negative."));
        if (usage.StartedAt is { } s && usage.EndedAt is { } e && e < s) errors.Add(new("usage.endedAt", "must not be before startedAt."));
        foreach (var (name, value) in usage.Tres)
        {
            if (value < 0) errors.Add(new($"usage.tres.{name}", "must not be negative."));
        }
        if (observedElapsed < TimeSpan.Zero) errors.Add(new("observedElapsed", "must not be negative."));
        if (errors.Count > 0) throw new BillingValidationException(errors);
    }

    // ---------------------------------------------------------------- statements

    /// <summary>The statement of a grant for [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public async Task<Statement> GetStatementAsync(string code, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var grant = await RequireGrantAsync(code, cancellationToken).ConfigureAwait(false);
        var entries = await _store.GetEntriesAsync(new LedgerQuery { GrantCode = code, To = to }, cancellationToken).ConfigureAwait(false);
        return StatementBuilder.Build(grant, entries, from, to, Rounding);
    }

    // ---------------------------------------------------------------- helpers

    private long MemoryPerNode(ResourceRequest r, long contextMemoryPerNode)
    {
        if (contextMemoryPerNode > 0) return contextMemoryPerNode;
        if (r.MemoryMiB > 0) return r.MemoryMiB;
        try
        {
            return checked(r.Cpus * _options.DefaultMemoryMiBPerCpu);
        }
        catch (OverflowException)
        {
            throw new BillingValidationException("resources.cpus", "× the default memory per CPU is out of range.");
        }
    }

    private async Task<Grant> RequireGrantAsync(string code, CancellationToken cancellationToken) =>
        await _store.GetGrantAsync(code, cancellationToken).ConfigureAwait(false)
        ?? throw new CompGridException($"Grant '{code}' was not found.") { Code = CompGridErrorCodes.UnknownGrant };

    private static void CheckCurrency(Grant grant, RateCard card)
    {
        if (!string.Equals(grant.Currency, card.Currency, StringComparison.OrdinalIgnoreCase))
            throw new CompGridException($"Grant '{grant.Code}' is in {grant.Currency} but rate card '{card.Name}' v{card.Version} prices in {card.Currency}.") { Code = CompGridErrorCodes.CurrencyMismatch };
    }

    private void CheckWhole(decimal amount, string currency)
    {
        if (!Rounding.IsWholeMinorUnits(amount, currency))
            throw new BillingValidationException("amount", $"must be whole minor units of {currency} ({Rounding.MinorUnits(currency)} decimal places).");
    }

    private static void RequireText(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new BillingValidationException(field, "is required.");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex GrantCodePattern();

    private async Task ValidateGrantAsync(Grant g, CancellationToken cancellationToken)
    {
        var errors = new List<ValidationError>();
        if (!GrantCodePattern().IsMatch(g.Code)) errors.Add(new("code", "must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit."));
        if (string.IsNullOrWhiteSpace(g.PrincipalInvestigator)) errors.Add(new("principalInvestigator", "is required."));
        if (string.IsNullOrWhiteSpace(g.Currency) || g.Currency.Length > 8) errors.Add(new("currency", "is required (at most 8 characters)."));
        if (g.Budget < 0) errors.Add(new("budget", "must not be negative."));
        else if (!string.IsNullOrWhiteSpace(g.Currency) && !Rounding.IsWholeMinorUnits(g.Budget, g.Currency)) errors.Add(new("budget", $"must be whole minor units of {g.Currency}."));
        if (g.CreditLimit < 0) errors.Add(new("creditLimit", "must not be negative."));
        if (g.ValidFrom is { } f && g.ValidTo is { } t && t <= f) errors.Add(new("validTo", "must be after validFrom."));
        if (g.Members.Any(string.IsNullOrWhiteSpace)) errors.Add(new("members", "must not contain empty names."));
        if (g.ParentCode is { } parent)
        {
            if (string.Equals(parent, g.Code, StringComparison.Ordinal)) errors.Add(new("parentCode", "must not be the grant itself."));
            else
            {
                // Walk up: the parent must exist and the chain must not come back to this grant.
                var seen = new HashSet<string>(StringComparer.Ordinal) { g.Code };
                var current = parent;
                while (current is not null)
                {
                    if (!seen.Add(current)) { errors.Add(new("parentCode", "would make a cycle.")); break; }
                    var p = await _store.GetGrantAsync(current, cancellationToken).ConfigureAwait(false);
                    if (p is null) { errors.Add(new("parentCode", $"grant '{current}' does not exist.")); break; }
                    current = p.ParentCode;
                }
            }
        }
        if (errors.Count > 0) throw new BillingValidationException(errors);
    }
}
