using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>One address as the ledger holds it: its consent state and its linked Salesforce records.</summary>
public sealed record LedgerRecord(ConsentStateEntity State, IReadOnlyList<RecordLinkEntity> Links)
{
    /// <summary>Changes of the state not yet moved into the change feed, oldest first.</summary>
    public IReadOnlyList<ConsentChangeEntity> PendingChanges { get; init; } = [];
}

/// <summary>What applying one event to the ledger did, and which linked records now owe Salesforce a write.</summary>
public sealed record LedgerApplyResult(ConsentDecision Decision, ConsentState State, IReadOnlyList<RecordLinkEntity> LinksToPush);

/// <summary>A link as <see cref="ILedgerStore.LinkAsync"/> left it, and whether that call created it.</summary>
public sealed record LinkResult(RecordLinkEntity Link, bool Created);

/// <summary>
/// The consent ledger: one partition per normalized address, holding its state row and its link rows.
/// Consent changes enter through <see cref="ApplyAsync"/>; Salesforce outcomes through the
/// <see cref="ILinkOutcomeRecorder"/>, which alone calls <see cref="SaveLinkAsync"/>. Every change of the state is
/// recorded as a change row in the same transaction and handed to the change feed (<see cref="IConsentFeed"/>).
/// </summary>
public interface ILedgerStore
{
    /// <summary>
    /// Applies an event by the ordering rule. Idempotent: applying the same event again changes nothing. A change of
    /// the state is written with a change row, and the address is queued for the change feed (again on a retry, while
    /// the change is still waiting there).
    /// </summary>
    Task<LedgerApplyResult> ApplyAsync(ConsentEvent consentEvent, CancellationToken cancellationToken);

    /// <summary>Reads an address's state and links, or null when the ledger does not know it.</summary>
    Task<LedgerRecord?> GetAsync(string emailKey, CancellationToken cancellationToken);

    /// <summary>One address's state row, or null.</summary>
    Task<ConsentStateEntity?> GetStateAsync(string emailKey, CancellationToken cancellationToken);

    /// <summary>One link row, or null.</summary>
    Task<RecordLinkEntity?> GetLinkAsync(string emailKey, string salesforceId, CancellationToken cancellationToken);

    /// <summary>Replaces one link row if it has not changed since it was read (ETag); throws a 412 <see cref="Azure.RequestFailedException"/> otherwise.</summary>
    Task SaveLinkAsync(RecordLinkEntity link, CancellationToken cancellationToken);

    /// <summary>
    /// Links a record to a known address (found by the sync, a lookup by email, or a redirect), owing it the
    /// address's current value; confirmed at once when <paramref name="observedOptOut"/> (what Salesforce holds)
    /// already equals it. An existing link is returned as it is. Null when the ledger does not know the address.
    /// The address stops awaiting an Id, unless <paramref name="keepAwaiting"/>: a lookup by email that may still
    /// find more records clears that itself with <see cref="CompleteLookupAsync"/> once it has finished.
    /// </summary>
    Task<LinkResult?> LinkAsync(string emailKey, SalesforceId id, string linkedFrom, bool? observedOptOut, CancellationToken cancellationToken, bool keepAwaiting = false, string? observedField = null);

    /// <summary>A lookup by email for the address has finished: it stops awaiting an Id if any record is linked to it.</summary>
    Task CompleteLookupAsync(string emailKey, CancellationToken cancellationToken);

    /// <summary>
    /// Reads one slice of the outbox (at most <paramref name="maxRows"/> rows per page, <paramref name="maxPages"/> pages),
    /// streaming the whole ledger across calls. With <paramref name="inForce"/>, links confirmed on another field than the
    /// one in force for their object are in the outbox too.
    /// </summary>
    Task<OutboxSlice> ScanOutboxAsync(string? continuation, int maxRows, int maxPages, FieldsInForce? inForce, CancellationToken cancellationToken);

    /// <summary>
    /// Reads one slice of the links in <paramref name="statuses"/> (failed, blocked, deferred), optionally only those whose
    /// last error is <paramref name="errorCode"/>: at most <paramref name="maxRows"/> links from at most <paramref name="maxPages"/> pages.
    /// </summary>
    Task<RetryableSlice> ScanRetryableAsync(IReadOnlyCollection<LinkStatus> statuses, string? errorCode, string? continuation, int maxRows, int maxPages, CancellationToken cancellationToken);

    /// <summary>
    /// An administrator's retry: the link (as read) is owed again (<see cref="RecordLinkEntity.RequestRetry"/>). False,
    /// and nothing written, when the link changed or went since it was read.
    /// </summary>
    Task<bool> RequestRetryAsync(RecordLinkEntity link, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed partial class LedgerStore(
    StorageClients clients, IOptions<StorageOptions> options, IConsentFeedQueue feedQueue, TimeProvider timeProvider, ILogger<LedgerStore> logger)
    : ILedgerStore, IConsentChangeLog
{
    // Entity-group transactions hold at most 100 operations; the state row takes one and a change row another.
    private const int MaxLinksPerTransaction = 98;
    private const int MaxConcurrencyAttempts = 8;

    private TableClient Table => clients.Tables.GetTableClient(options.Value.LedgerTable);

    public async Task<LedgerRecord?> GetAsync(string emailKey, CancellationToken cancellationToken)
    {
        ConsentStateEntity? state = null;
        var links = new List<RecordLinkEntity>();
        var changes = new List<ConsentChangeEntity>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {emailKey}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == ConsentStateEntity.RowKeyValue)
            {
                state = TableRows.Read<ConsentStateEntity>(row);
            }
            else if (row.RowKey.StartsWith(RecordLinkEntity.RowKeyPrefix, StringComparison.Ordinal))
            {
                links.Add(TableRows.Read<RecordLinkEntity>(row));
            }
            else if (row.RowKey.StartsWith(ConsentChangeEntity.RowKeyPrefix, StringComparison.Ordinal))
            {
                // Fixed-width row keys: the partition query returns them oldest first.
                changes.Add(TableRows.Read<ConsentChangeEntity>(row));
            }
        }

        return state is null ? null : new LedgerRecord(state, links) { PendingChanges = changes };
    }

    public async Task<ConsentStateEntity?> GetStateAsync(string emailKey, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<ConsentStateEntity>(emailKey, ConsentStateEntity.RowKeyValue, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public async Task<RecordLinkEntity?> GetLinkAsync(string emailKey, string salesforceId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<RecordLinkEntity>(emailKey, RecordLinkEntity.RowKeyFor(salesforceId), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public async Task SaveLinkAsync(RecordLinkEntity link, CancellationToken cancellationToken)
    {
        var response = await Table.UpdateEntityAsync(link, link.ETag, TableUpdateMode.Replace, cancellationToken);
        link.ETag = response.Headers.ETag ?? link.ETag;
    }

    public async Task<LedgerApplyResult> ApplyAsync(ConsentEvent consentEvent, CancellationToken cancellationToken)
    {
        // Another event for the same address may win the race; every attempt reads again and re-decides.
        var (result, feedOwed) = await OptimisticConcurrency.RetryAsync(_ => TryApplyAsync(consentEvent, cancellationToken), MaxConcurrencyAttempts, cancellationToken);

        // After the commit: a lost message (a crash just here, or the queue failing) leaves the change row, which a retry
        // of the event or the feed's sweep hands on, so the change it announces is never failed for it. The message
        // carries no change, so sending it twice is harmless.
        if (feedOwed)
        {
            try
            {
                await feedQueue.SendAsync(consentEvent.Email.Key, cancellationToken);
            }
            catch (Exception ex) when (StorageUnavailableException.IsUnavailable(ex, cancellationToken))
            {
                Log.FeedNotQueued(logger, consentEvent.Email.LogId, ex);
            }
        }

        return result;
    }

    private async Task<(LedgerApplyResult Result, bool FeedOwed)> TryApplyAsync(ConsentEvent e, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var key = e.Email.Key;
        var existing = await GetAsync(key, cancellationToken);
        var incoming = e.OptOut ? ConsentState.Unsubscribed : ConsentState.Subscribed;
        // The state keeps the ordering point (DecidedAt); the sender's own occurredAt stays in the audit as sent.
        var orderedAt = ConsentRules.OrderingTime(e);
        var decision = ConsentRules.Decide(existing?.State, e.Id, incoming, orderedAt);

        var state = existing?.State ?? new ConsentStateEntity
        {
            PartitionKey = key,
            Email = e.Email.Value,
            CreatedAt = now,
            StateSince = orderedAt,
        };
        var links = existing?.Links.ToDictionary(l => l.SalesforceId, StringComparer.Ordinal) ?? [];
        var changedLinks = new List<RecordLinkEntity>();
        var stateChanged = existing is null;
        ConsentChangeEntity? change = null;

        if (decision is ConsentDecision.Applied or ConsentDecision.Reaffirmed)
        {
            if (decision == ConsentDecision.Applied && existing is not null)
            {
                state.StateSince = orderedAt;
            }

            state.State = incoming.ToString();
            state.DecidedAt = orderedAt;
            state.StateSource = e.Source ?? "webhook";
            state.StateEventId = e.Id;
            stateChanged = true;
        }

        // The one place consent changes: each change (a new address included) is numbered and recorded for the feed in
        // the transaction that makes it, so no change can commit without its row. A reaffirmation changes nothing the
        // sender acts on and is not a change of state.
        if (decision == ConsentDecision.Applied)
        {
            state.Version++;
            change = ConsentChangeEntity.For(state, e, now);
        }

        var desired = state.ConsentState == ConsentState.Unsubscribed;
        foreach (var link in links.Values)
        {
            // A deleted record may have been restored since: a new explicit event tries it once more (a failed write
            // costs one call and kills it again). A change read from another record says nothing about this one.
            var revive = link.CanRevive && decision is (ConsentDecision.Applied or ConsentDecision.Reaffirmed)
                && (!e.ReadFromRecord || e.SalesforceId?.Value == link.SalesforceId);
            if (revive)
            {
                link.Revive(desired, e.Id, "A new event arrived for the address; the record may have been restored, so it is written again.", now);
                changedLinks.Add(link);
                continue;
            }

            // The address is the unit of consent: a new state asks every record linked to it for the new value;
            // a repeated one retries the records not yet confirmed, and spends no call on those that are.
            var asked = decision switch
            {
                ConsentDecision.Applied => link.Status != LinkStatus.Dead,
                ConsentDecision.Reaffirmed => link.Status is not (LinkStatus.Synced or LinkStatus.Dead) && link.DesiredOptOut == desired,
                _ => false,
            };
            if (asked)
            {
                link.Request(desired, e.Id, now);
                changedLinks.Add(link);
            }
        }

        if (e.SalesforceId is { } salesforceId && !links.ContainsKey(salesforceId.Value))
        {
            var link = RecordLinkEntity.Create(key, salesforceId, desired, e.ReadFromRecord ? "sync" : "event", e.Id, now);
            links[salesforceId.Value] = link;
            changedLinks.Add(link);
        }

        // A change read from the record itself needs no write back to that record.
        if (e.ReadFromRecord && e.SalesforceId is { } source && links[source.Value] is { Status: not (LinkStatus.Synced or LinkStatus.Dead) } sourceLink
            && sourceLink.DesiredOptOut == e.OptOut)
        {
            sourceLink.MarkSynced(now, attempted: false, e.ReadField);
            if (!changedLinks.Contains(sourceLink))
            {
                changedLinks.Add(sourceLink);
            }
        }

        var awaiting = links.Count == 0;
        if (state.AwaitingSalesforceId != awaiting)
        {
            state.AwaitingSalesforceId = awaiting;
            stateChanged = true;
        }

        if (stateChanged || changedLinks.Count > 0)
        {
            state.UpdatedAt = now;
            await CommitAsync(state, existing is null, changedLinks, change, cancellationToken);
        }

        // On a retry of this very event, re-offer the records it asked for that are still unconfirmed.
        var toPush = decision == ConsentDecision.AlreadyApplied
            ? links.Values.Where(l => l.RequestedByEventId == e.Id && l.Status == LinkStatus.Pending).ToList()
            : changedLinks.Where(l => l.Status == LinkStatus.Pending).ToList();
        var feedOwed = change is not null || existing?.PendingChanges.Count > 0;
        return (new LedgerApplyResult(decision, state.ConsentState, toPush), feedOwed);
    }

    private async Task CommitAsync(ConsentStateEntity state, bool isNew, List<RecordLinkEntity> links, ConsentChangeEntity? change, CancellationToken cancellationToken)
    {
        // The state row rides in every transaction with its ETag, so a concurrent writer makes the whole batch fail and retry.
        var first = true;
        IEnumerable<RecordLinkEntity[]> chunks = links.Count == 0 ? [[]] : links.Chunk(MaxLinksPerTransaction);
        foreach (var chunk in chunks)
        {
            var actions = new List<TableTransactionAction>
            {
                first && isNew
                    ? new TableTransactionAction(TableTransactionActionType.Add, state)
                    : new TableTransactionAction(TableTransactionActionType.UpdateReplace, state, state.ETag),
            };
            actions.AddRange(chunk.Select(l => new TableTransactionAction(TableTransactionActionType.UpsertReplace, l)));
            if (first && change is not null)
            {
                // Added last, so the responses of the state and link rows keep their positions.
                actions.Add(new TableTransactionAction(TableTransactionActionType.Add, change));
            }

            var response = await Table.SubmitTransactionAsync(actions, cancellationToken);
            state.ETag = response.Value[0].Headers.ETag ?? state.ETag;
            for (var i = 0; i < chunk.Length; i++)
            {
                chunk[i].ETag = response.Value[i + 1].Headers.ETag ?? chunk[i].ETag;
            }

            first = false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 320, Level = LogLevel.Warning, Message = "The change of address {AddressId} is recorded, but its consent-feed message could not be queued; the feed's sweep publishes it")]
        public static partial void FeedNotQueued(ILogger logger, string addressId, Exception exception);
    }
}
