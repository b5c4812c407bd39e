namespace CompGrid.Ordering;

/// <summary>The fair-share figures of one (account, user) association, as <c>sshare</c> shows them.</summary>
public sealed record FairShareAssociation
{
    /// <summary>The account.</summary>
    public string Account { get; init; } = "";

    /// <summary>The user.</summary>
    public string User { get; init; } = "";

    /// <summary>Raw shares within the account.</summary>
    public double RawShares { get; init; }

    /// <summary>Normalised shares of the whole machine (0..1).</summary>
    public double NormalizedShares { get; init; }

    /// <summary>Decayed raw usage.</summary>
    public double RawUsage { get; init; }

    /// <summary>Normalised usage: the association's fraction of all decayed usage (0..1).</summary>
    public double NormalizedUsage { get; init; }

    /// <summary>Effective usage (classic algorithm), or the level usage fraction (Fair Tree).</summary>
    public double EffectiveUsage { get; init; }

    /// <summary>The fair-share factor (0..1; higher means under-served).</summary>
    public double Factor { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"{Account}/{User} shares={NormalizedShares:0.######} usage={NormalizedUsage:0.######} effective={EffectiveUsage:0.######} factor={Factor:0.######}");
}

/// <summary>The result of one fair-share calculation: a factor per association.</summary>
internal sealed class FairShareResult
{
    private readonly Dictionary<string, Dictionary<string, FairShareAssociation>> _byAccount = new(StringComparer.Ordinal);

    internal void Add(FairShareAssociation a)
    {
        if (!_byAccount.TryGetValue(a.Account, out var users)) _byAccount[a.Account] = users = new(StringComparer.Ordinal);
        users[a.User] = a;
    }

    /// <summary>Every association.</summary>
    public IEnumerable<FairShareAssociation> Associations => _byAccount.Values.SelectMany(u => u.Values);

    /// <summary>The figures of one association, or null when it was not part of the calculation.</summary>
    public FairShareAssociation? Get(string account, string user) =>
        _byAccount.TryGetValue(account, out var users) && users.TryGetValue(user, out var a) ? a : null;

    /// <summary>The factor of one association, or <paramref name="fallback"/> when unknown.</summary>
    public double GetFactor(string account, string user, double fallback = 1) =>
        _byAccount.TryGetValue(account, out var users) && users.TryGetValue(user, out var a) ? a.Factor : fallback;

    /// <summary>The factor of one association; <see langword="false"/> when it was not part of the calculation.</summary>
    public bool TryGetFactor(string account, string user, out double factor)
    {
        if (_byAccount.TryGetValue(account, out var users) && users.TryGetValue(user, out var a)) { factor = a.Factor; return true; }
        factor = 1;
        return false;
    }
}

/// <summary>Which fair-share algorithm to use.</summary>
internal enum FairShareAlgorithm
{
    /// <summary>Slurm's classic algorithm: <c>F = 2^(-UE/S)</c> with effective usage over the account hierarchy.</summary>
    Classic,
    /// <summary>Slurm's Fair Tree: users ranked by a depth-first walk ordering siblings by level fair share <c>S/U</c>.</summary>
    FairTree,
}

/// <summary>Computes fair-share factors from the account hierarchy and decayed usage.</summary>
internal static class FairShareCalculator
{
    private sealed class TreeNode
    {
        public required string Name;
        public TreeNode? Parent;
        public double Shares;
        public bool IsUser;
        public string Account = "";
        public readonly List<TreeNode> Children = [];
        public double Usage;            // decayed raw usage, summed over the subtree
        public double NormShares, NormUsage, EffUsage, Level;
    }

    /// <summary>
    /// Computes the factors. <paramref name="usage"/> is decayed usage per (account, user);
    /// <paramref name="associations"/> adds associations that have no usage yet (for example the owners of pending jobs).
    /// <paramref name="totalUsage"/> is what normalised usage is relative to: by default the sum of all usage (so
    /// normalised usages add up to 1); pass the machine's capacity over the same window to make them fractions of the machine.
    /// </summary>
    public static FairShareResult Compute(FairShareOptions options, FairShareAlgorithm algorithm,
        IReadOnlyDictionary<(string Account, string User), double> usage, IEnumerable<(string Account, string User)>? associations = null,
        double? totalUsage = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(usage);
        var root = new TreeNode { Name = "root", Shares = 1 };
        var accounts = new Dictionary<string, TreeNode>(StringComparer.Ordinal);
        foreach (FairShareAccount a in options.Accounts) accounts[a.Name] = new TreeNode { Name = a.Name, Shares = a.Shares, Account = a.Name };
        foreach (FairShareAccount a in options.Accounts)
        {
            TreeNode n = accounts[a.Name];
            n.Parent = a.Parent is not null && accounts.TryGetValue(a.Parent, out TreeNode? p) ? p : root;
            n.Parent.Children.Add(n);
        }
        TreeNode AccountNode(string name)
        {
            if (!accounts.TryGetValue(name, out TreeNode? n))
            {
                accounts[name] = n = new TreeNode { Name = name, Shares = options.DefaultShares, Account = name, Parent = root };
                root.Children.Add(n);
            }
            return n;
        }
        var users = new Dictionary<(string, string), TreeNode>();
        TreeNode UserNode(string account, string user, double shares)
        {
            if (!users.TryGetValue((account, user), out TreeNode? u))
            {
                TreeNode acc = AccountNode(account);
                users[(account, user)] = u = new TreeNode { Name = user, Shares = shares, IsUser = true, Account = account, Parent = acc };
                acc.Children.Add(u);
            }
            return u;
        }
        foreach (FairShareUser u in options.Users) UserNode(u.Account, u.User, u.Shares);
        foreach (var ((acc, user), value) in usage.OrderBy(k => k.Key.Account, StringComparer.Ordinal).ThenBy(k => k.Key.User, StringComparer.Ordinal))
            UserNode(acc, user, options.DefaultShares).Usage += Math.Max(0, value);
        if (associations is not null)
            foreach (var (acc, user) in associations) UserNode(acc, user, options.DefaultShares);

        SumUsage(root);
        double total = totalUsage is > 0 ? totalUsage.Value : root.Usage;
        root.NormShares = 1;
        root.NormUsage = 1;
        root.EffUsage = total > 0 ? 1 : 0;
        var result = new FairShareResult();
        if (algorithm == FairShareAlgorithm.Classic)
        {
            Classic(root, total, isRoot: true);
            foreach (TreeNode u in users.Values) result.Add(ToAssociation(u, Math.Pow(2, -(u.NormShares > 0 ? u.EffUsage / u.NormShares : double.PositiveInfinity))));
        }
        else
        {
            Classic(root, total, isRoot: true); // normalised shares and usage for the report
            var ranked = new List<List<TreeNode>>();
            FairTreeWalk(root, ranked);
            int count = users.Count, rank = count;
            foreach (List<TreeNode> tie in ranked)
            {
                foreach (TreeNode u in tie) result.Add(ToAssociation(u, count == 0 ? 1 : (double)rank / count) with { EffectiveUsage = u.Level });
                rank -= tie.Count;
            }
        }
        return result;
    }

    private static FairShareAssociation ToAssociation(TreeNode u, double factor) => new()
    {
        Account = u.Account, User = u.Name, RawShares = u.Shares, NormalizedShares = u.NormShares, RawUsage = u.Usage,
        NormalizedUsage = u.NormUsage, EffectiveUsage = u.EffUsage, Factor = factor,
    };

    private static double SumUsage(TreeNode n)
    {
        foreach (TreeNode c in n.Children) n.Usage += SumUsage(c);
        return n.Usage;
    }

    private static void Classic(TreeNode n, double total, bool isRoot)
    {
        double siblingShares = 0;
        foreach (TreeNode c in n.Children) siblingShares += c.Shares;
        foreach (TreeNode c in n.Children)
        {
            double ratio = siblingShares > 0 ? c.Shares / siblingShares : 0;
            c.NormShares = n.NormShares * ratio;
            c.NormUsage = total > 0 ? c.Usage / total : 0;
            // First tier under the root: effective usage is the actual usage.
            c.EffUsage = isRoot ? c.NormUsage : c.NormUsage + (n.EffUsage - c.NormUsage) * ratio;
            Classic(c, total, isRoot: false);
        }
    }

    private static void FairTreeWalk(TreeNode n, List<List<TreeNode>> ranked)
    {
        double siblingShares = 0;
        foreach (TreeNode c in n.Children) siblingShares += c.Shares;
        foreach (TreeNode c in n.Children)
        {
            double s = siblingShares > 0 ? c.Shares / siblingShares : 0;
            double u = n.Usage > 0 ? c.Usage / n.Usage : 0;
            c.Level = u > 0 ? s / u : double.PositiveInfinity;
        }
        // Highest level fair share first; ties: users before accounts, then by name (deterministic).
        var ordered = n.Children.OrderByDescending(c => c.Level).ThenBy(c => c.IsUser ? 0 : 1).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        for (int i = 0; i < ordered.Count; i++)
        {
            TreeNode c = ordered[i];
            if (c.IsUser)
            {
                // sibling users with equal level fair share share a rank
                var tie = new List<TreeNode> { c };
                while (i + 1 < ordered.Count && ordered[i + 1].IsUser && ordered[i + 1].Level.Equals(c.Level)) tie.Add(ordered[++i]);
                ranked.Add(tie);
            }
            else FairTreeWalk(c, ranked);
        }
    }
}
