namespace CompGrid.Local.Sandbox;

/// <summary>Decides which OS account a job runs as: the owner's mapped account, else <c>RunAsUser</c>, else <c>nobody</c>.</summary>
internal sealed class JobIdentities(string backend, LocalBackendOptions options)
{
    /// <summary>Whether jobs run as another account (the host runs as root). Otherwise they run as the host's own user.</summary>
    public bool SwitchesUser { get; } = Environment.IsPrivilegedProcess;

    /// <summary>The account for <paramref name="owner"/>'s job, or null when jobs run as the host's own (unprivileged) user.</summary>
    /// <exception cref="CompGridException">The account does not exist, or is root and <c>AllowRunAsRoot</c> is not set.</exception>
    public RunAsAccount? For(string owner, string jobId)
    {
        if (!SwitchesUser) return null;
        string field = options.OwnerAccounts.ContainsKey(owner) ? $"OwnerAccounts[{owner}]" : "RunAsUser";
        string name = options.OwnerAccounts.TryGetValue(owner, out var mapped) ? mapped : options.RunAsUser ?? Accounts.DefaultRunAsUser;
        var account = Accounts.Find(name)
            ?? throw new CompGridException($"{field}: the account '{name}' does not exist on this machine; the job was not started.") { Backend = backend, Operation = "submit", JobId = jobId };
        if (account.Uid == 0 && !options.AllowRunAsRoot)
            throw new CompGridException($"{field}: '{name}' is root; jobs never run as root unless AllowRunAsRoot is set. The job was not started.") { Backend = backend, Operation = "submit", JobId = jobId };
        return account;
    }
}
