namespace CompGrid;

/// <summary>
/// The catalogue of machine-readable error codes that CompGrid puts in <see cref="CompGridException.Code"/> and in
/// <see cref="AdmissionResult.Code"/>. Portals map them to HTTP statuses and messages; scripts branch on them. A code
/// never changes meaning once shipped; new codes are added here, never written as free strings elsewhere.
/// </summary>
/// <remarks>
/// Codes are lower-case words joined by hyphens. Each constant's summary says when it is used and whether the
/// operation may succeed if retried (the exception's <see cref="CompGridException.IsTransient"/> says so per instance).
/// </remarks>
public static class CompGridErrorCodes
{
    // --- Requests and policy -------------------------------------------------------------------------------------

    /// <summary>A request broke a validation rule; <see cref="JobValidationException.Errors"/> names the fields.</summary>
    public const string Invalid = "invalid";

    /// <summary>The caller may not do this (role, ownership or policy). Not transient.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>The job, grant or other object does not exist (or the caller may not see it).</summary>
    public const string NotFound = "not-found";

    /// <summary>A per-account or per-user resource limit stops the job from starting now.</summary>
    public const string Limit = "limit";

    /// <summary>A job specification asked for something the policy layer does not allow for this caller.</summary>
    public const string PolicyDenied = "policy-denied";

    // --- Billing -------------------------------------------------------------------------------------------------

    /// <summary>The grant cannot cover the job's quote.</summary>
    public const string InsufficientFunds = "insufficient-funds";

    /// <summary>The job names no grant and the billing options require one.</summary>
    public const string AccountRequired = "account-required";

    /// <summary>The named grant does not exist.</summary>
    public const string UnknownGrant = "unknown-grant";

    /// <summary>The job's owner is not a member of the grant.</summary>
    public const string NotAMember = "not-a-member";

    /// <summary>The grant exists but is not active (not started, expired or closed).</summary>
    public const string GrantInactive = "grant-inactive";

    /// <summary>A grant with that code already exists.</summary>
    public const string GrantExists = "grant-exists";

    /// <summary>A rate card with that name and version already exists.</summary>
    public const string RateCardExists = "rate-card-exists";

    /// <summary>No rate card prices the job's resources at its time.</summary>
    public const string NoRate = "no-rate";

    /// <summary>Amounts in different currencies were combined.</summary>
    public const string CurrencyMismatch = "currency-mismatch";

    /// <summary>A ledger entry with the same idempotency key exists with different content.</summary>
    public const string DuplicateKey = "duplicate-key";

    // --- Backends ------------------------------------------------------------------------------------------------

    /// <summary>The backend (or its controller) cannot be reached or is busy. Transient.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>A backend call did not answer in time. Transient.</summary>
    public const string Timeout = "timeout";

    /// <summary>The backend's circuit breaker is open after repeated failures. Transient.</summary>
    public const string CircuitOpen = "circuit-open";

    /// <summary>The backend's credentials were refused or are missing.</summary>
    public const string Unauthorized = "unauthorized";

    /// <summary>The backend printed or returned something CompGrid cannot read.</summary>
    public const string UnexpectedOutput = "unexpected-output";

    /// <summary>The backend speaks no protocol version CompGrid knows.</summary>
    public const string UnsupportedVersion = "unsupported-version";

    /// <summary>The backend's accounting has no record of the job yet. Transient.</summary>
    public const string AccountingPending = "accounting-pending";

    /// <summary>A staged file or archive broke the path, link, size or count rules; nothing was written.</summary>
    public const string UnsafeArchive = "unsafe-archive";

    /// <summary>A job's outputs exceeded the configured byte or file-count limit; nothing beyond the limit was written.</summary>
    public const string OutputLimit = "output-limit";

    /// <summary>Staging inputs or outputs failed.</summary>
    public const string StagingErrors = "staging-errors";

    /// <summary>The backend cannot stage input or output files, and the job asked for some; it was not started.</summary>
    public const string StagingUnsupported = "staging-unsupported";

    /// <summary>The container image is not present and may not be pulled.</summary>
    public const string ImageMissing = "image-missing";

    /// <summary>No backend credential (token, key or key file) is configured or it cannot be read.</summary>
    public const string NoToken = "no-token";

    /// <summary>The configured backend token has expired; renew it or configure a key to mint tokens.</summary>
    public const string TokenExpired = "token-expired";

    /// <summary>The SSH server's host key is not the one in the known_hosts file; nothing was sent.</summary>
    public const string SshHostKey = "ssh-host-key";

    /// <summary>The SSH server refused the configured user or key.</summary>
    public const string SshAuthentication = "ssh-auth";

    /// <summary>The SSH connection could not be made (the host does not resolve or answer); transient unless the name does not resolve.</summary>
    public const string SshConnect = "ssh-connect";

    /// <summary>The backend itself refused the operation for the identity CompGrid uses (for example Slurm's "Access/permission denied").</summary>
    public const string PermissionDenied = "permission-denied";

    /// <summary>A job would have been submitted as root to a backend that runs it as the submitting user; refused.</summary>
    public const string SubmitAsRoot = "submit-as-root";

    /// <summary>A backend command (for example <c>sbatch</c>) is not installed or not on the configured path.</summary>
    public const string CommandNotFound = "command-not-found";

    /// <summary>A job's log file is not a regular file inside the job's own folder (a link, a FIFO, a device); nothing was read.</summary>
    public const string UnsafeLogFile = "unsafe-log-file";

    /// <summary>A script called a CompGrid cmdlet before <c>Connect-CompGrid</c>, or on a closed connection (PowerShell module).</summary>
    public const string NotConnected = "not-connected";

    /// <summary>The Docker Engine cannot be reached. Transient.</summary>
    public const string EngineUnreachable = "engine-unreachable";

    /// <summary>A Docker Engine call did not answer in time. Transient.</summary>
    public const string EngineTimeout = "engine-timeout";

    /// <summary>A Docker Engine stream (logs, attach, archive) broke off or was malformed.</summary>
    public const string DockerStreamError = "docker-stream-error";

    /// <summary>The Docker Engine's API version is older than the oldest CompGrid supports.</summary>
    public const string DockerApiTooOld = "docker-api-too-old";

    /// <summary>The Docker Engine's API version is newer than the configured maximum.</summary>
    public const string DockerApiTooNew = "docker-api-too-new";

    /// <summary>
    /// The prefix of codes for other Docker Engine API errors: the HTTP status follows (for example <c>docker-404</c>,
    /// <c>docker-409</c>), so a portal can branch on the status without parsing the message.
    /// </summary>
    public const string DockerStatusPrefix = "docker-";

    /// <summary>A VM or lab machine did not come up within its resume timeout (the node is then marked down). Transient.</summary>
    public const string NodeStartFailed = "node-start-failed";

    /// <summary>The QEMU monitor (QMP) or the guest agent answered with an error or broke the protocol.</summary>
    public const string GuestAgentError = "guest-agent-error";

    /// <summary>A service with that name already exists.</summary>
    public const string ServiceExists = "service-exists";

    /// <summary>A leased VM instance is not in a state that allows the operation (for example resuming a stopped instance). Not transient.</summary>
    public const string InstanceState = "instance-state";
}
