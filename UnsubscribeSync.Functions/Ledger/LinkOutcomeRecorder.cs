using Microsoft.Extensions.Logging;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>How the recorder applied an outcome.</summary>
public enum RecordedAs
{
    /// <summary>The link took the outcome.</summary>
    Applied,

    /// <summary>The link had already moved to where the outcome would take it, or past it (someone confirmed it first): nothing to change.</summary>
    AlreadySettled,

    /// <summary>
    /// The link now wants another value than the outcome concerns. When the outcome was a landed write, Salesforce
    /// may now hold the old value: the link is owed again and the caller should write once more.
    /// </summary>
    Superseded,

    /// <summary>The link row no longer exists.</summary>
    LinkGone,
}

/// <summary>The link as the recorder left it, and how the outcome was applied.</summary>
public sealed record RecordedOutcome(RecordLinkEntity? Link, RecordedAs As)
{
    /// <summary>A write of the old value landed after the link moved on: the current value must be written again.</summary>
    public bool MustRewrite { get; init; }
}

/// <summary>
/// The one place a Salesforce outcome changes a link: push and the nightly sync both record through it.
/// It applies the outcome's transition, appends the audit entry, and owns the ETag policy.
/// </summary>
public interface ILinkOutcomeRecorder
{
    /// <summary>
    /// Applies <paramref name="outcome"/> to <paramref name="link"/> (as the caller read it) and audits it. When the
    /// row changed meanwhile (412) it reads it again and decides again; it never drops a result silently.
    /// </summary>
    Task<RecordedOutcome> RecordAsync(RecordLinkEntity link, LinkOutcome outcome, string channel, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed partial class LinkOutcomeRecorder(ILedgerStore ledger, IAuditLog audit, TimeProvider timeProvider, ILogger<LinkOutcomeRecorder> logger) : ILinkOutcomeRecorder
{
    private const int MaxConcurrencyAttempts = 8;

    /// <summary>The reopen code of a link read on another field than the one it was confirmed on.</summary>
    public const string FieldChangedCode = "FIELD_CHANGED";

    private enum Decision
    {
        Apply,
        Reopen,
        Keep,
        Superseded,
        Revive,
    }

    public async Task<RecordedOutcome> RecordAsync(RecordLinkEntity link, LinkOutcome outcome, string channel, CancellationToken cancellationToken)
    {
        var result = await OptimisticConcurrency.RetryAsync(
            async attempt =>
            {
                // The first attempt trusts the caller's copy; after a conflict every attempt decides on a fresh read.
                var current = attempt == 1 ? link : await ledger.GetLinkAsync(link.PartitionKey, link.SalesforceId, cancellationToken);
                return current is null ? new RecordedOutcome(null, RecordedAs.LinkGone) : await ApplyAsync(current, outcome, cancellationToken);
            },
            MaxConcurrencyAttempts,
            cancellationToken);

        if (result.As != RecordedAs.Applied)
        {
            Log.NotApplied(logger, link.SalesforceId, outcome.Kind.ToString(), result.As.ToString());
        }

        if (outcome.IsEvidence)
        {
            // The attempt happened whatever became of the row, so the evidence is kept either way.
            await audit.AppendAsync(
                AuditEntity.ForWrite(result.Link ?? link, (result.Link ?? link).RequestedByEventId, channel, outcome.AuditOutcome, outcome.AuditDetail, timeProvider.GetUtcNow()),
                cancellationToken);
        }

        return result;
    }

    private async Task<RecordedOutcome> ApplyAsync(RecordLinkEntity link, LinkOutcome outcome, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        switch (Decide(link, outcome))
        {
            case Decision.Keep:
                return new RecordedOutcome(link, RecordedAs.AlreadySettled);

            case Decision.Superseded:
                // A landed write of the old value may still overtake the pending write of the new one: write it again.
                return new RecordedOutcome(link, RecordedAs.Superseded) { MustRewrite = outcome.Landed };

            case Decision.Revive:
                return await ReviveAsync(link, outcome, now, cancellationToken);

            case Decision.Reopen when outcome.Kind == LinkOutcomeKind.Observed && !ConfirmedFor(link, outcome):
                // Confirmed on another field (the field in force changed): nobody un-checked anything; the value is owed on this field.
                link.Reopen(FieldChangedCode, $"Confirmed on {link.SyncedField ?? "an unrecorded field"}; {outcome.Field} holds {Describe(outcome.Value)}, so the value is owed on it.", now);
                return await SaveAsync(link, RecordedAs.Applied, mustRewrite: false, cancellationToken);

            case Decision.Reopen when outcome.Kind == LinkOutcomeKind.Observed:
                link.Reopen("DRIFT", $"Salesforce was seen holding {Describe(outcome.Value)}; the opt-out value is owed again.", now);
                return await SaveAsync(link, RecordedAs.Applied, mustRewrite: false, cancellationToken);

            case Decision.Reopen:
                // Our write of the old value may have landed after the new value was confirmed.
                link.Reopen("SUPERSEDED_WRITE", $"A write of {Describe(outcome.Value)} landed after the record was asked for {Describe(link.DesiredOptOut)}; it is written again.", now);
                return await SaveAsync(link, RecordedAs.Superseded, mustRewrite: true, cancellationToken);
        }

        Transition(link, outcome, now);
        return await SaveAsync(link, RecordedAs.Applied, mustRewrite: false, cancellationToken);
    }

    /// <summary>
    /// A query returned a record whose link is dead (deleted): it was restored, or is visible again. Dead links take
    /// no events from other records, so it owes the address's current value, as a new link would.
    /// </summary>
    private async Task<RecordedOutcome> ReviveAsync(RecordLinkEntity link, LinkOutcome outcome, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var state = await ledger.GetStateAsync(link.PartitionKey, cancellationToken);
        var desired = state is null ? link.DesiredOptOut : state.ConsentState == ConsentState.Unsubscribed;
        link.Revive(desired, state?.StateEventId ?? link.RequestedByEventId, "Salesforce returned the record again (restored or visible once more); the value is owed again.", now);
        if (outcome.Value == desired)
        {
            link.MarkSynced(now, attempted: false, outcome.Field);
        }

        Log.Revived(logger, link.SalesforceId);
        return await SaveAsync(link, RecordedAs.Applied, mustRewrite: false, cancellationToken);
    }

    /// <summary>Saves with the ETag; a 412 goes back to the retry loop, a row deleted meanwhile is reported as gone.</summary>
    private async Task<RecordedOutcome> SaveAsync(RecordLinkEntity link, RecordedAs recordedAs, bool mustRewrite, CancellationToken cancellationToken)
    {
        try
        {
            await ledger.SaveLinkAsync(link, cancellationToken);
            return new RecordedOutcome(link, recordedAs) { MustRewrite = mustRewrite };
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            return new RecordedOutcome(null, RecordedAs.LinkGone);
        }
    }

    private static Decision Decide(RecordLinkEntity link, LinkOutcome outcome)
    {
        if (outcome.Kind is LinkOutcomeKind.Dead or LinkOutcomeKind.Redirected)
        {
            // The record's fate does not depend on the value it was asked for.
            return link.Status == LinkStatus.Dead ? Decision.Keep : Decision.Apply;
        }

        if (link.Status == LinkStatus.Dead)
        {
            // Salesforce returning the record is the proof a deleted one is back; no other outcome brings it back.
            return outcome.Kind == LinkOutcomeKind.Observed && link.CanRevive ? Decision.Revive : Decision.Keep;
        }

        if (outcome.Kind == LinkOutcomeKind.Observed)
        {
            // A read is a fact about Salesforce now, on the field read: it confirms the link for that field, or shows the value is owed.
            return outcome.Value == link.DesiredOptOut
                ? ConfirmedFor(link, outcome) && link.SyncedEventId == link.RequestedByEventId ? Decision.Keep : Decision.Apply
                : link.Status == LinkStatus.Synced ? Decision.Reopen : Decision.Keep;
        }

        if (outcome.Value != link.DesiredOptOut)
        {
            // The link moved on. A failed write changed nothing in Salesforce; a landed one may have undone the newer value.
            return outcome.Landed && link.Status == LinkStatus.Synced ? Decision.Reopen : Decision.Superseded;
        }

        if (outcome.Landed)
        {
            return ConfirmedFor(link, outcome) && link.SyncedEventId == link.RequestedByEventId ? Decision.Keep : Decision.Apply;
        }

        // A failure never undoes a confirmation someone else recorded for the same value.
        return link.Status == LinkStatus.Synced ? Decision.Keep : Decision.Apply;
    }

    private static void Transition(RecordLinkEntity link, LinkOutcome outcome, DateTimeOffset now)
    {
        var code = outcome.Code ?? outcome.Kind.ToString().ToUpperInvariant();
        switch (outcome.Kind)
        {
            case LinkOutcomeKind.Synced:
            case LinkOutcomeKind.Observed:
                link.MarkSynced(now, outcome.Attempted, outcome.Field);
                break;
            case LinkOutcomeKind.Failed:
                link.MarkFailed(code, outcome.Message, outcome.Attempted, now);
                break;
            case LinkOutcomeKind.Transient:
                link.RecordTransientFailure(code, outcome.Message, now);
                break;
            case LinkOutcomeKind.Blocked:
                link.MarkBlocked(code, outcome.Message, outcome.Attempted, now);
                break;
            case LinkOutcomeKind.Deferred:
                link.MarkDeferred(code, outcome.Message, outcome.Attempted, now);
                break;
            case LinkOutcomeKind.Dead:
                link.MarkDead(code, outcome.Message, now);
                break;
            case LinkOutcomeKind.Redirected:
                link.MarkRedirected(code, outcome.TargetId ?? throw new InvalidOperationException("A redirect names its target."), outcome.Message, now);
                break;
            case LinkOutcomeKind.NotRequired:
                link.MarkNotRequired(outcome.Message ?? "Nothing is to be written.", now);
                break;
            default:
                throw new InvalidOperationException($"Unknown link outcome {outcome.Kind}.");
        }
    }

    /// <summary>
    /// Whether the link's confirmation covers the field the outcome is about. An outcome naming no field (a deferral
    /// before any call) takes any confirmation as it stands; one naming a field needs a confirmation on that field.
    /// </summary>
    private static bool ConfirmedFor(RecordLinkEntity link, LinkOutcome outcome) =>
        link.Status == LinkStatus.Synced && (outcome.Field is null || link.SyncedField == outcome.Field);

    private static string Describe(bool optOut) => optOut ? "the opt-out" : "no opt-out";

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Outcome {Outcome} for {SalesforceId} was not applied to its link: {RecordedAs}")]
        public static partial void NotApplied(ILogger logger, string salesforceId, string outcome, string recordedAs);

        [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Record {SalesforceId}, dead as deleted, was returned by Salesforce again; its link is owed again")]
        public static partial void Revived(ILogger logger, string salesforceId);
    }
}
