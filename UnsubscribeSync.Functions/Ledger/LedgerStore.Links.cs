using Azure.Data.Tables;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Ledger;

public sealed partial class LedgerStore
{
    /// <inheritdoc />
    public async Task<RecordLinkEntity> AddLinkAsync(ConsentStateEntity state, SalesforceId id, bool desiredOptOut, string linkedFrom, string? eventId, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var link = RecordLinkEntity.Create(state.PartitionKey, id, desiredOptOut, LinkStatus.Pending, linkedFrom, eventId, now);
        state.AwaitingSalesforceId = false;
        state.UpdatedAt = now;

        // The state row rides along with its ETag, so a concurrent event for the address makes this retry rather than race.
        await Table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateReplace, state, state.ETag),
                new TableTransactionAction(TableTransactionActionType.UpsertMerge, link),
            ],
            cancellationToken);
        return link;
    }
}
