using Azure.Data.Tables;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>One slice of the ledger's outbox: what a scan found, and where to carry on.</summary>
/// <param name="Links">Links Salesforce has not confirmed (Pending, Failed, Deferred, Blocked).</param>
/// <param name="Awaiting">Addresses linked to no Salesforce record.</param>
/// <param name="Continuation">Where the next slice starts; null when the scan is complete.</param>
public sealed record OutboxSlice(IReadOnlyList<RecordLinkEntity> Links, IReadOnlyList<ConsentStateEntity> Awaiting, string? Continuation);

public sealed partial class LedgerStore
{
    private static readonly string LinkRangeEnd = RecordLinkEntity.RowKeyPrefix[..^1] + (char)(RecordLinkEntity.RowKeyPrefix[^1] + 1);

    /// <inheritdoc />
    public async Task<OutboxSlice> ScanOutboxAsync(string? continuation, int maxRows, int maxPages, CancellationToken cancellationToken)
    {
        // The SDK stores the status enum as its name, so the filter compares names.
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
                    awaiting.Add(TableRows.Read<ConsentStateEntity>(row));
                }
                else
                {
                    links.Add(TableRows.Read<RecordLinkEntity>(row));
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
}
