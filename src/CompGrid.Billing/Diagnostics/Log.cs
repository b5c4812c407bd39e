using Microsoft.Extensions.Logging;

namespace CompGrid.Billing;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Hold of {Amount} {Currency} placed on grant {Grant} for job {JobId}")]
    public static partial void HoldPlaced(ILogger logger, decimal amount, string currency, string grant, string jobId);

    [LoggerMessage(2, LogLevel.Information, "Job {JobId} refused by billing: {Reason}")]
    public static partial void Refused(ILogger logger, string jobId, string reason);

    [LoggerMessage(3, LogLevel.Information, "Job {JobId} charged {Amount} {Currency} on grant {Grant}")]
    public static partial void Charged(ILogger logger, string jobId, decimal amount, string currency, string grant);

    [LoggerMessage(4, LogLevel.Debug, "Job {JobId} was charged already; the usage record changes nothing")]
    public static partial void DuplicateCharge(ILogger logger, string jobId);

    [LoggerMessage(5, LogLevel.Information, "Hold of job {JobId} released: {Reason}")]
    public static partial void HoldReleased(ILogger logger, string jobId, string reason);

    [LoggerMessage(6, LogLevel.Warning, "Usage of job {JobId} names grant {Grant}, which does not exist; not charged")]
    public static partial void UnknownGrant(ILogger logger, string jobId, string grant);

    [LoggerMessage(7, LogLevel.Information, "Allocation {AllocationId} of grant {Grant} expired: {Expired} {Currency} lost, {Carried} carried over")]
    public static partial void AllocationExpired(ILogger logger, long allocationId, string grant, decimal expired, string currency, decimal carried);

    [LoggerMessage(8, LogLevel.Warning, "Usage of job {JobId} names account {Named}; the job was admitted with a hold on grant {Grant}, which is the one charged")]
    public static partial void AccountMismatch(ILogger logger, string jobId, string named, string grant);

    [LoggerMessage(9, LogLevel.Warning, "Usage of job {JobId} names account {Named} but the job has no hold; not charged")]
    public static partial void NoHold(ILogger logger, string jobId, string named);

    [LoggerMessage(10, LogLevel.Warning, "Job {JobId} not charged: its owner {Owner} is not a member of grant {Grant}; the hold is released")]
    public static partial void NotAMember(ILogger logger, string jobId, string owner, string grant);

    [LoggerMessage(11, LogLevel.Warning, "Charge of job {JobId} clamped to {Amount} {Currency}: the usage record claimed more than the job could have used (reported elapsed {Reported}, charged elapsed {Charged})")]
    public static partial void ChargeClamped(ILogger logger, string jobId, decimal amount, string currency, TimeSpan reported, TimeSpan charged);
}
