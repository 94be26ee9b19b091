using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Push;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>
/// Which events were accepted now, which had been accepted (and finished) before, and which another attempt holds
/// unfinished: a delivery at work at this moment, or one that stopped without giving its claim back. Those are not
/// reported as accepted or duplicates, because nothing yet says they will be finished before the nightly sweep; the
/// caller retries them once the claim has lapsed, at <see cref="RetryAt"/>.
/// </summary>
public sealed record IntakeOutcome(IReadOnlyList<string> Accepted, IReadOnlyList<string> Duplicates, IReadOnlyList<string> InProgress, DateTimeOffset? RetryAt = null)
{
    public IntakeOutcome(IReadOnlyList<string> accepted, IReadOnlyList<string> duplicates)
        : this(accepted, duplicates, [])
    {
    }
}

/// <summary>Records validated events durably: idempotency record, ledger, audit, then the push queue.</summary>
public interface IIntakeService
{
    /// <summary>Returns only when every event is in the ledger and queued.</summary>
    /// <exception cref="StorageUnavailableException">Storage failed part-way; a retry of the same request finishes the work.</exception>
    Task<IntakeOutcome> AcceptAsync(IReadOnlyList<ConsentEvent> events, CancellationToken cancellationToken);

    /// <summary>Finishes one event whose intake stopped half-way (used by the nightly sweep and by retries).</summary>
    Task<bool> CompleteAsync(IntakeRecordEntity record, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed partial class IntakeService(
    IIntakeRecords intakeRecords,
    ILedgerStore ledger,
    IAuditLog audit,
    IPushQueue pushQueue,
    TimeProvider timeProvider,
    ILogger<IntakeService> logger) : IIntakeService
{
    // Different addresses are independent partitions; a little parallelism keeps a 100-event batch fast.
    private const int MaxParallelAddresses = 8;

    public async Task<IntakeOutcome> AcceptAsync(IReadOnlyList<ConsentEvent> events, CancellationToken cancellationToken)
    {
        var accepted = new List<string>();
        var duplicates = new List<string>();
        var inProgress = new List<string>();
        DateTimeOffset? retryAt = null;
        var outcome = new Dictionary<string, EventOutcome>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var unique = events.Where(e => seen.Add(e.Id)).ToList();

        try
        {
            // Events for one address run in order, so the ledger's ordering rule sees them as the caller sent them.
            var groups = unique.GroupBy(e => e.Email.Key).Select(g => g.ToList()).ToList();
            await Parallel.ForEachAsync(
                groups,
                new ParallelOptions { MaxDegreeOfParallelism = MaxParallelAddresses, CancellationToken = cancellationToken },
                async (group, _) =>
                {
                    // The loop's own token is cancelled when another address fails; an event already under way must
                    // still finish or give its claim back, or its retry would be told "duplicate" while it is half-done.
                    foreach (var e in group)
                    {
                        var result = await AcceptOneAsync(e, cancellationToken);
                        lock (outcome)
                        {
                            outcome[e.Id] = result;
                        }
                    }
                });
        }
        catch (Exception ex) when (StorageUnavailableException.IsUnavailable(ex, cancellationToken))
        {
            Log.StorageUnavailable(logger, ex);
            throw new StorageUnavailableException("Storage is unavailable; nothing was lost, retry the request.", ex);
        }

        foreach (var e in events)
        {
            // A repeated id within one request counts once as new, then as a duplicate.
            if (!outcome.Remove(e.Id, out var result))
            {
                duplicates.Add(e.Id);
            }
            else if (result.Kind == EventOutcomeKind.Accepted)
            {
                accepted.Add(e.Id);
            }
            else if (result.Kind == EventOutcomeKind.InProgress)
            {
                inProgress.Add(e.Id);
                retryAt = retryAt is { } at && at > result.ClaimLapsesAt ? at : result.ClaimLapsesAt;
            }
            else
            {
                duplicates.Add(e.Id);
            }
        }

        Log.Accepted(logger, accepted.Count, duplicates.Count);
        if (inProgress.Count > 0)
        {
            Log.InProgressElsewhere(logger, inProgress.Count);
        }

        return new IntakeOutcome(accepted, duplicates, inProgress, retryAt);
    }

    public async Task<bool> CompleteAsync(IntakeRecordEntity record, CancellationToken cancellationToken)
    {
        if (record.IntakeStage == IntakeStage.Queued)
        {
            return false;
        }

        if (!await intakeRecords.TryClaimAsync(record, NewClaimant(), timeProvider.GetUtcNow(), cancellationToken))
        {
            // A retry of the webhook is finishing it right now (or just did).
            return false;
        }

        await FinishClaimedAsync(record, StoredEvent.Deserialize(record.EventJson), cancellationToken);
        return true;
    }

    private async Task<EventOutcome> AcceptOneAsync(ConsentEvent e, CancellationToken cancellationToken)
    {
        // The record is created already claimed, so a new event costs no extra request for its claim.
        var claimant = NewClaimant();
        var now = timeProvider.GetUtcNow();
        var fresh = new IntakeRecordEntity
        {
            PartitionKey = IntakeRecords.KeyOf(e.Id),
            EventId = e.Id,
            EmailKey = e.Email.Key,
            ReceivedAt = e.ReceivedAt,
            EventJson = StoredEvent.Serialize(e),
            ClaimedBy = claimant,
            ClaimedAt = now,
        };
        var record = await intakeRecords.GetOrAddAsync(fresh, cancellationToken);
        if (record.IntakeStage == IntakeStage.Queued)
        {
            return EventOutcome.Duplicate;
        }

        // The stored record can be this attempt's own: the insert landed but its answer was lost, and the SDK's retry
        // found the row (409) and read it back. Its claim is this attempt's, so it is not "another delivery".
        var ours = ReferenceEquals(record, fresh) || record.ClaimedBy == claimant;
        if (!ours && !await intakeRecords.TryClaimAsync(record, claimant, now, cancellationToken))
        {
            // Another attempt holds the event: a delivery finishing it at this moment (finishing it here too would push
            // twice), or one that failed and could not give its claim back (storage timed out on that too). Calling it a
            // duplicate would be a 202 for an event nobody may finish before the nightly sweep; the caller is asked
            // instead to come back when the claim has lapsed, and then finds it queued or finishes it itself.
            return record.IntakeStage == IntakeStage.Queued || record.ClaimedAt is not { } claimedAt
                ? EventOutcome.Duplicate
                : EventOutcome.HeldElsewhere(claimedAt + IntakeRecords.InProgressWindow);
        }

        // A retry finishes the event as it was first received, whatever the retry's body says.
        var original = ours ? e : StoredEvent.Deserialize(record.EventJson);
        await FinishClaimedAsync(record, original, cancellationToken);

        // An earlier attempt that stopped half-way was answered 503, so finishing it now is its acceptance.
        return EventOutcome.Accepted;
    }

    private enum EventOutcomeKind
    {
        Accepted,
        Duplicate,
        InProgress,
    }

    private readonly record struct EventOutcome(EventOutcomeKind Kind, DateTimeOffset ClaimLapsesAt = default)
    {
        public static EventOutcome Accepted => new(EventOutcomeKind.Accepted);

        public static EventOutcome Duplicate => new(EventOutcomeKind.Duplicate);

        public static EventOutcome HeldElsewhere(DateTimeOffset lapsesAt) => new(EventOutcomeKind.InProgress, lapsesAt);
    }

    private static string NewClaimant() => Guid.NewGuid().ToString("N");

    private async Task FinishClaimedAsync(IntakeRecordEntity record, ConsentEvent e, CancellationToken cancellationToken)
    {
        try
        {
            await FinishAsync(record, e, cancellationToken);
        }
        catch
        {
            // The caller is answered 503 and retries; with the claim still held, that retry would be told "duplicate".
            await intakeRecords.ReleaseAsync(record, CancellationToken.None);
            throw;
        }
    }

    private async Task FinishAsync(IntakeRecordEntity record, ConsentEvent e, CancellationToken cancellationToken)
    {
        var applied = await ledger.ApplyAsync(e, cancellationToken);
        var now = timeProvider.GetUtcNow();
        await audit.AppendAsync(
            new AuditEntity
            {
                PartitionKey = e.Email.Key,
                RowKey = AuditLog.EventRowKey(e.OccurredAt, e.Id),
                Kind = "event",
                EventId = e.Id,
                Type = e.TypeName,
                Source = e.Source,
                Channel = "webhook",
                OccurredAt = e.OccurredAt,
                ReceivedAt = e.ReceivedAt,
                RecordedAt = now,
                Reason = e.Reason,
                SalesforceId = e.SalesforceId?.Value,
                Records = applied.LinksToPush.Count == 0 ? null : string.Join(',', applied.LinksToPush.Select(l => l.SalesforceId)),
                Outcome = applied.Decision == ConsentDecision.AlreadyApplied ? nameof(ConsentDecision.Applied).ToLowerInvariant() : applied.Decision.ToString().ToLowerInvariant(),
                Detail = applied.LinksToPush.Count == 0 && applied.State == ConsentState.Unsubscribed && e.SalesforceId is null
                    ? "awaiting a Salesforce Id"
                    : null,
            },
            cancellationToken);

        foreach (var link in applied.LinksToPush)
        {
            await pushQueue.SendAsync(
                new PushMessage(PushMessage.CurrentVersion, e.Email.Key, link.SalesforceId, link.ObjectType, link.DesiredOptOut, e.Id, e.OccurredAt, now),
                cancellationToken);
        }

        if (!await intakeRecords.MarkQueuedAsync(record, now, cancellationToken))
        {
            Log.ClaimLapsed(logger);
        }

        if (applied.Decision == ConsentDecision.Superseded)
        {
            Log.Superseded(logger, e.Email.LogId);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Webhook intake: {AcceptedCount} events accepted, {DuplicateCount} duplicates")]
        public static partial void Accepted(ILogger logger, int acceptedCount, int duplicateCount);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "An older event for address {AddressId} was recorded in the audit without changing its state")]
        public static partial void Superseded(ILogger logger, string addressId);

        [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Storage is unavailable during webhook intake; the caller is asked to retry")]
        public static partial void StorageUnavailable(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Webhook intake: {Count} events are held unfinished by another attempt (at work now, or stopped without giving its claim back); the caller is asked to retry after the claim lapses")]
        public static partial void InProgressElsewhere(ILogger logger, int count);

        [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Webhook intake: an event took longer than its claim, and another attempt took it over; its push may be sent twice")]
        public static partial void ClaimLapsed(ILogger logger);
    }
}
