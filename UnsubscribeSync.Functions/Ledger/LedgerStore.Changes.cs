using Azure;
using Azure.Data.Tables;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>One slice of the sweep's pass over the ledger: addresses with changes still waiting, and addresses never numbered.</summary>
/// <param name="Waiting">Ledger keys of addresses with change rows.</param>
/// <param name="Unnumbered">Ledger keys of addresses whose state predates the feed (version 0); empty unless asked for.</param>
/// <param name="Continuation">Where the next slice starts; null when the pass is complete.</param>
public sealed record ChangeScanSlice(IReadOnlyList<string> Waiting, IReadOnlyList<string> Unnumbered, string? Continuation);

/// <summary>The ledger's side of the change feed: the change rows written with each state change.</summary>
public interface IConsentChangeLog
{
    /// <summary>The address's changes still waiting for the feed, oldest first.</summary>
    Task<IReadOnlyList<ConsentChangeEntity>> GetChangesAsync(string emailKey, CancellationToken cancellationToken);

    /// <summary>Removes change rows the feed now holds; rows already removed are not an error.</summary>
    Task DeleteChangesAsync(IReadOnlyList<ConsentChangeEntity> changes, CancellationToken cancellationToken);

    /// <summary>
    /// Numbers an address whose state predates the feed: version 1 and a change row carrying its current state, in one
    /// transaction with the state row. False when it has a version already (a change or an earlier backfill got there first).
    /// </summary>
    Task<bool> BackfillAsync(string emailKey, CancellationToken cancellationToken);

    /// <summary>Reads one slice of the ledger for the sweep: at most <paramref name="maxPages"/> pages, stopping after the page that reaches <paramref name="maxKeys"/> addresses.</summary>
    Task<ChangeScanSlice> ScanChangesAsync(string? continuation, bool includeUnnumbered, int maxPages, int maxKeys, CancellationToken cancellationToken);
}

public sealed partial class LedgerStore
{
    private static readonly string ChangeRangeEnd = FeedKeys.After(ConsentChangeEntity.RowKeyPrefix);

    // A scan page: large pages keep a mostly empty filtered scan to few requests.
    private const int ScanPageSize = 1000;

    /// <inheritdoc />
    public async Task<IReadOnlyList<ConsentChangeEntity>> GetChangesAsync(string emailKey, CancellationToken cancellationToken)
    {
        var from = ConsentChangeEntity.RowKeyPrefix;
        var to = ChangeRangeEnd;
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {emailKey} and RowKey ge {from} and RowKey lt {to}");
        var changes = new List<ConsentChangeEntity>();
        await foreach (var change in Table.QueryAsync<ConsentChangeEntity>(filter, cancellationToken: cancellationToken))
        {
            changes.Add(change);
        }

        return changes;
    }

    /// <inheritdoc />
    public async Task DeleteChangesAsync(IReadOnlyList<ConsentChangeEntity> changes, CancellationToken cancellationToken)
    {
        foreach (var partition in changes.GroupBy(c => c.PartitionKey))
        {
            foreach (var chunk in partition.Chunk(100))
            {
                try
                {
                    await Table.SubmitTransactionAsync(chunk.Select(c => new TableTransactionAction(TableTransactionActionType.Delete, c, ETag.All)), cancellationToken);
                }
                catch (TableTransactionFailedException ex) when (ex.Status == 404)
                {
                    // A concurrent publisher removed some of them first: remove the rest one by one.
                    foreach (var change in chunk)
                    {
                        await Table.DeleteEntityAsync(change.PartitionKey, change.RowKey, ETag.All, cancellationToken);
                    }
                }
            }
        }
    }

    /// <inheritdoc />
    public Task<bool> BackfillAsync(string emailKey, CancellationToken cancellationToken) =>
        OptimisticConcurrency.RetryAsync(_ => TryBackfillAsync(emailKey, cancellationToken), MaxConcurrencyAttempts, cancellationToken);

    private async Task<bool> TryBackfillAsync(string emailKey, CancellationToken cancellationToken)
    {
        var state = await GetStateAsync(emailKey, cancellationToken);
        if (state is null || state.Version > 0)
        {
            return false;
        }

        // UpdatedAt stays: numbering is bookkeeping, not a change of the address.
        state.Version = 1;
        var change = ConsentChangeEntity.Snapshot(state, timeProvider.GetUtcNow());
        await Table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateReplace, state, state.ETag),
                new TableTransactionAction(TableTransactionActionType.Add, change),
            ],
            cancellationToken);
        return true;
    }

    /// <inheritdoc />
    public async Task<ChangeScanSlice> ScanChangesAsync(string? continuation, bool includeUnnumbered, int maxPages, int maxKeys, CancellationToken cancellationToken)
    {
        var from = ConsentChangeEntity.RowKeyPrefix;
        var to = ChangeRangeEnd;
        var stateRow = ConsentStateEntity.RowKeyValue;

        // Rows written before the feed have no Version at all, and a filter cannot ask for a missing property, so while
        // the backfill runs every state row is read and its version checked here.
        var filter = includeUnnumbered
            ? TableClient.CreateQueryFilter($"(RowKey ge {from} and RowKey lt {to}) or RowKey eq {stateRow}")
            : TableClient.CreateQueryFilter($"RowKey ge {from} and RowKey lt {to}");
        var waiting = new List<string>();
        var unnumbered = new List<string>();
        var pages = 0;
        string[] select = ["PartitionKey", "RowKey", nameof(ConsentStateEntity.Version)];
        await foreach (var page in Table.QueryAsync<TableEntity>(filter, maxPerPage: ScanPageSize, select: select, cancellationToken: cancellationToken).AsPages(continuation, ScanPageSize))
        {
            foreach (var row in page.Values)
            {
                if (row.RowKey == stateRow)
                {
                    if ((row.GetInt64(nameof(ConsentStateEntity.Version)) ?? 0) == 0)
                    {
                        unnumbered.Add(row.PartitionKey);
                    }
                }
                else if (waiting.Count == 0 || waiting[^1] != row.PartitionKey)
                {
                    waiting.Add(row.PartitionKey);
                }
            }

            continuation = page.ContinuationToken;
            if (++pages >= maxPages || waiting.Count + unnumbered.Count >= maxKeys)
            {
                break;
            }
        }

        return new ChangeScanSlice(waiting, unnumbered, pages == 0 ? null : continuation);
    }
}
