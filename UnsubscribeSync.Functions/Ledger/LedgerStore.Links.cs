using Azure.Data.Tables;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

public sealed partial class LedgerStore
{
    /// <inheritdoc />
    public Task<LinkResult?> LinkAsync(string emailKey, SalesforceId id, string linkedFrom, bool? observedOptOut, CancellationToken cancellationToken) =>
        OptimisticConcurrency.RetryAsync(_ => TryLinkAsync(emailKey, id, linkedFrom, observedOptOut, cancellationToken), MaxConcurrencyAttempts, cancellationToken);

    private async Task<LinkResult?> TryLinkAsync(string emailKey, SalesforceId id, string linkedFrom, bool? observedOptOut, CancellationToken cancellationToken)
    {
        var existing = await GetLinkAsync(emailKey, id.Value, cancellationToken);
        if (existing is not null)
        {
            return new LinkResult(existing, false);
        }

        var state = await GetStateAsync(emailKey, cancellationToken);
        if (state is null)
        {
            return null;
        }

        // A new link (a merge survivor or a converted contact included) takes the address's current state, never an old record's value.
        var now = timeProvider.GetUtcNow();
        var desired = state.ConsentState == ConsentState.Unsubscribed;
        var link = RecordLinkEntity.Create(emailKey, id, desired, linkedFrom, state.StateEventId, now);
        if (observedOptOut == desired)
        {
            link.MarkSynced(now, attempted: false);
        }

        state.AwaitingSalesforceId = false;
        state.UpdatedAt = now;

        // The state row's ETag guards against a concurrent event for the address; Add (not upsert) against a concurrent link of the same record.
        var response = await Table.SubmitTransactionAsync(
            [
                new TableTransactionAction(TableTransactionActionType.UpdateReplace, state, state.ETag),
                new TableTransactionAction(TableTransactionActionType.Add, link),
            ],
            cancellationToken);
        state.ETag = response.Value[0].Headers.ETag ?? state.ETag;
        link.ETag = response.Value[1].Headers.ETag ?? link.ETag;
        return new LinkResult(link, true);
    }
}
