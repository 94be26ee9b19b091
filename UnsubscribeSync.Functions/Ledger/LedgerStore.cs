using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>One address as the ledger holds it: its consent state and its linked Salesforce records.</summary>
public sealed record LedgerRecord(ConsentStateEntity State, IReadOnlyList<RecordLinkEntity> Links);

/// <summary>What applying one event to the ledger did, and which linked records now owe Salesforce a write.</summary>
public sealed record LedgerApplyResult(ConsentDecision Decision, ConsentState State, IReadOnlyList<RecordLinkEntity> LinksToPush);

/// <summary>The consent ledger: one partition per normalized address.</summary>
public interface ILedgerStore
{
    /// <summary>Applies an event by the ordering rule. Idempotent: applying the same event again changes nothing.</summary>
    Task<LedgerApplyResult> ApplyAsync(UnsubscribeEvent consentEvent, CancellationToken cancellationToken);

    /// <summary>Reads an address's state and links, or null when the ledger does not know it.</summary>
    Task<LedgerRecord?> GetAsync(string emailKey, CancellationToken cancellationToken);

    /// <summary>Replaces one link row if it has not changed since it was read (ETag), else throws 412.</summary>
    Task UpdateLinkAsync(RecordLinkEntity link, CancellationToken cancellationToken);

    /// <summary>Links another Salesforce record to an address (a converted contact, a merge survivor, a lookup), owing a write.</summary>
    Task<RecordLinkEntity> AddLinkAsync(ConsentStateEntity state, SalesforceId id, bool desiredOptOut, string linkedFrom, string? eventId, CancellationToken cancellationToken);
}

/// <inheritdoc />
public sealed partial class LedgerStore(StorageClients clients, IOptions<StorageOptions> options, TimeProvider timeProvider) : ILedgerStore
{
    // Entity-group transactions hold at most 100 operations; the state row takes one.
    private const int MaxLinksPerTransaction = 99;
    private const int MaxConcurrencyAttempts = 8;

    private TableClient Table => clients.Tables.GetTableClient(options.Value.LedgerTable);

    public async Task<LedgerRecord?> GetAsync(string emailKey, CancellationToken cancellationToken)
    {
        ConsentStateEntity? state = null;
        var links = new List<RecordLinkEntity>();
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {emailKey}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken))
        {
            if (row.RowKey == ConsentStateEntity.RowKeyValue)
            {
                state = Convert<ConsentStateEntity>(row);
            }
            else if (row.RowKey.StartsWith(RecordLinkEntity.RowKeyPrefix, StringComparison.Ordinal))
            {
                links.Add(Convert<RecordLinkEntity>(row));
            }
        }

        return state is null ? null : new LedgerRecord(state, links);
    }

    public async Task UpdateLinkAsync(RecordLinkEntity link, CancellationToken cancellationToken)
    {
        link.UpdatedAt = timeProvider.GetUtcNow();
        var response = await Table.UpdateEntityAsync(link, link.ETag, TableUpdateMode.Replace, cancellationToken);
        link.ETag = response.Headers.ETag ?? link.ETag;
    }

    public async Task<LedgerApplyResult> ApplyAsync(UnsubscribeEvent consentEvent, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryApplyAsync(consentEvent, cancellationToken);
            }
            catch (Exception ex) when (attempt < MaxConcurrencyAttempts && IsConcurrencyConflict(ex))
            {
                // Another event for the same address won the race; read again and re-decide.
            }
        }
    }

    private async Task<LedgerApplyResult> TryApplyAsync(UnsubscribeEvent e, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var key = e.Email.Key;
        var existing = await GetAsync(key, cancellationToken);
        var incoming = e.Type == ConsentEventType.Unsubscribe ? ConsentState.Unsubscribed : ConsentState.Subscribed;
        var decision = ConsentRules.Decide(existing?.State, e.Id, incoming, e.OccurredAt);

        var state = existing?.State ?? new ConsentStateEntity
        {
            PartitionKey = key,
            Email = e.Email.Value,
            CreatedAt = now,
            StateSince = e.OccurredAt,
        };
        var links = existing?.Links.ToDictionary(l => l.SalesforceId, StringComparer.Ordinal) ?? [];
        var changedLinks = new List<RecordLinkEntity>();
        var stateChanged = existing is null;

        if (decision is ConsentDecision.Applied or ConsentDecision.Reaffirmed)
        {
            if (decision == ConsentDecision.Applied && existing is not null)
            {
                state.StateSince = e.OccurredAt;
            }

            state.State = incoming.ToString();
            state.DecidedAt = e.OccurredAt;
            state.StateSource = e.Source ?? "webhook";
            state.StateEventId = e.Id;
            stateChanged = true;
        }

        var desired = state.ConsentState == ConsentState.Unsubscribed;
        if (decision == ConsentDecision.Applied)
        {
            // The address is the unit of consent: every record linked to it follows the new state.
            foreach (var link in links.Values)
            {
                if (link.LinkStatus == LinkStatus.Dead)
                {
                    continue;
                }

                link.DesiredOptOut = desired;
                link.Status = nameof(LinkStatus.Pending);
                link.RequestedByEventId = e.Id;
                link.UpdatedAt = now;
                changedLinks.Add(link);
            }
        }
        else if (decision == ConsentDecision.Reaffirmed)
        {
            // A repeated unsubscribe retries records that are not yet confirmed, and spends no call on those that are.
            foreach (var link in links.Values)
            {
                if (link.LinkStatus is LinkStatus.Synced or LinkStatus.Dead || link.DesiredOptOut != desired)
                {
                    continue;
                }

                link.Status = nameof(LinkStatus.Pending);
                link.RequestedByEventId = e.Id;
                link.UpdatedAt = now;
                changedLinks.Add(link);
            }
        }

        if (e.SalesforceId is { } salesforceId && !links.ContainsKey(salesforceId.Value))
        {
            var link = RecordLinkEntity.Create(key, salesforceId, desired, LinkStatus.Pending, "event", e.Id, now);
            links[salesforceId.Value] = link;
            changedLinks.Add(link);
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
            await CommitAsync(state, existing is null, changedLinks, cancellationToken);
        }

        // On a retry of this very event, re-offer the records it asked for that are still unconfirmed.
        var toPush = decision == ConsentDecision.AlreadyApplied
            ? links.Values.Where(l => l.RequestedByEventId == e.Id && l.LinkStatus == LinkStatus.Pending).ToList()
            : changedLinks.Where(l => l.LinkStatus == LinkStatus.Pending).ToList();
        return new LedgerApplyResult(decision, state.ConsentState, toPush);
    }

    private async Task CommitAsync(ConsentStateEntity state, bool isNew, List<RecordLinkEntity> links, CancellationToken cancellationToken)
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
            var response = await Table.SubmitTransactionAsync(actions, cancellationToken);
            state.ETag = response.Value[0].Headers.ETag ?? state.ETag;
            for (var i = 0; i < chunk.Length; i++)
            {
                chunk[i].ETag = response.Value[i + 1].Headers.ETag ?? chunk[i].ETag;
            }

            first = false;
        }
    }

    private static bool IsConcurrencyConflict(Exception ex) => ex switch
    {
        TableTransactionFailedException tfe => tfe.Status is 409 or 412,
        RequestFailedException rfe => rfe.Status is 409 or 412,
        _ => false,
    };

    private static T Convert<T>(TableEntity row)
        where T : class, ITableEntity, new()
    {
        // Reading rows untyped lets one partition query return both row shapes.
        var entity = new T { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag, Timestamp = row.Timestamp };
        foreach (var property in DataProperties<T>.All)
        {
            if (!row.TryGetValue(property.Name, out var value) || value is null)
            {
                continue;
            }

            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            property.SetValue(entity, value is DateTime dt && target == typeof(DateTimeOffset)
                ? new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc))
                : System.Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture));
        }

        return entity;
    }

    private static class DataProperties<T>
    {
        public static readonly System.Reflection.PropertyInfo[] All = typeof(T).GetProperties()
            .Where(p => p.CanWrite && p.Name is not (nameof(ITableEntity.PartitionKey) or nameof(ITableEntity.RowKey)
                or nameof(ITableEntity.ETag) or nameof(ITableEntity.Timestamp)))
            .ToArray();
    }
}
