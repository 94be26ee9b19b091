using Azure;
using Azure.Data.Tables;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>One slice of the ledger's outbox: what a scan found, and where to carry on.</summary>
/// <param name="Links">Links Salesforce has not confirmed (Pending, Failed, Deferred, Blocked).</param>
/// <param name="Awaiting">Addresses linked to no Salesforce record.</param>
/// <param name="Continuation">Where the next slice starts; null when the scan is complete.</param>
public sealed record OutboxSlice(IReadOnlyList<RecordLinkEntity> Links, IReadOnlyList<ConsentStateEntity> Awaiting, string? Continuation);

/// <summary>The ledger operations the nightly sync needs beyond <see cref="ILedgerStore"/>.</summary>
public interface ILedgerSyncStore
{
    /// <summary>Reads one slice of the outbox (at most <paramref name="maxRows"/> rows per page, <paramref name="maxPages"/> pages), streaming the whole ledger across calls.</summary>
    Task<OutboxSlice> ScanOutboxAsync(string? continuation, int maxRows, int maxPages, CancellationToken cancellationToken);

    /// <summary>One link row, or null.</summary>
    Task<RecordLinkEntity?> GetLinkAsync(string emailKey, string salesforceId, CancellationToken cancellationToken);

    /// <summary>One address's state row, or null.</summary>
    Task<ConsentStateEntity?> GetStateAsync(string emailKey, CancellationToken cancellationToken);

    /// <summary>
    /// Adds (or replaces) a link found by the sync, clearing the address's awaiting flag, in one transaction
    /// guarded by the state row's ETag. Throws 412 (<see cref="TableTransactionFailedException"/>) when the address changed meanwhile.
    /// </summary>
    Task LinkAsync(ConsentStateEntity state, RecordLinkEntity link, CancellationToken cancellationToken);
}

/// <inheritdoc cref="ILedgerSyncStore" />
public sealed partial class LedgerStore : ILedgerSyncStore
{
    private static readonly string LinkRangeEnd = RecordLinkEntity.RowKeyPrefix[..^1] + (char)(RecordLinkEntity.RowKeyPrefix[^1] + 1);

    public async Task<OutboxSlice> ScanOutboxAsync(string? continuation, int maxRows, int maxPages, CancellationToken cancellationToken)
    {
        var synced = nameof(LinkStatus.Synced);
        var dead = nameof(LinkStatus.Dead);
        var notRequired = nameof(LinkStatus.NotRequired);
        var stateRow = ConsentStateEntity.RowKeyValue;
        var linkFrom = RecordLinkEntity.RowKeyPrefix;
        var linkTo = LinkRangeEnd;

        // Filtered on the server: the slice carries only rows with work, however large the ledger is.
        var filter = TableClient.CreateQueryFilter(
            $"(RowKey eq {stateRow} and AwaitingSalesforceId eq true) or (RowKey ge {linkFrom} and RowKey lt {linkTo} and Status ne {synced} and Status ne {dead} and Status ne {notRequired})");

        var links = new List<RecordLinkEntity>();
        var awaiting = new List<ConsentStateEntity>();
        var pages = 0;
        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: maxRows, cancellationToken: cancellationToken).AsPages(continuation, maxRows))
        {
            foreach (var row in page.Values)
            {
                if (row.RowKey == ConsentStateEntity.RowKeyValue)
                {
                    awaiting.Add(Convert<ConsentStateEntity>(row));
                }
                else
                {
                    links.Add(Convert<RecordLinkEntity>(row));
                }
            }

            continuation = page.ContinuationToken;
            if (++pages >= maxPages || links.Count + awaiting.Count >= maxRows)
            {
                break;
            }
        }

        return new OutboxSlice(links, awaiting, pages == 0 ? null : continuation);
    }

    public async Task<RecordLinkEntity?> GetLinkAsync(string emailKey, string salesforceId, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<RecordLinkEntity>(emailKey, RecordLinkEntity.RowKeyFor(salesforceId), cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public async Task<ConsentStateEntity?> GetStateAsync(string emailKey, CancellationToken cancellationToken)
    {
        var response = await Table.GetEntityIfExistsAsync<ConsentStateEntity>(emailKey, ConsentStateEntity.RowKeyValue, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    public async Task LinkAsync(ConsentStateEntity state, RecordLinkEntity link, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        state.AwaitingSalesforceId = false;
        state.UpdatedAt = now;
        link.UpdatedAt = now;
        var response = await Table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateReplace, state, state.ETag),
                new TableTransactionAction(TableTransactionActionType.UpsertReplace, link),
            ],
            cancellationToken);
        state.ETag = response.Value[0].Headers.ETag ?? state.ETag;
        link.ETag = response.Value[1].Headers.ETag ?? ETag.All;
    }
}
