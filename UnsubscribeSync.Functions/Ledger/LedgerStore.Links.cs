using Azure.Data.Tables;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;

namespace UnsubscribeSync.Functions.Ledger;

public sealed partial class LedgerStore
{
    /// <inheritdoc />
    public Task<LinkResult?> LinkAsync(string emailKey, SalesforceId id, string linkedFrom, bool? observedOptOut, CancellationToken cancellationToken, bool keepAwaiting = false, string? observedField = null) =>
        OptimisticConcurrency.RetryAsync(_ => TryLinkAsync(emailKey, id, linkedFrom, observedOptOut, observedField, keepAwaiting, cancellationToken), MaxConcurrencyAttempts, cancellationToken);

    /// <inheritdoc />
    public Task CompleteLookupAsync(string emailKey, CancellationToken cancellationToken) =>
        OptimisticConcurrency.RetryAsync(_ => TryCompleteLookupAsync(emailKey, cancellationToken), MaxConcurrencyAttempts, cancellationToken);

    private async Task<bool> TryCompleteLookupAsync(string emailKey, CancellationToken cancellationToken)
    {
        // Nothing found keeps the address awaiting, so the next night looks again.
        if (await GetAsync(emailKey, cancellationToken) is not { State.AwaitingSalesforceId: true, Links.Count: > 0 } record)
        {
            return false;
        }

        record.State.AwaitingSalesforceId = false;
        record.State.UpdatedAt = timeProvider.GetUtcNow();
        await Table.UpdateEntityAsync(record.State, record.State.ETag, TableUpdateMode.Replace, cancellationToken);
        return true;
    }

    private async Task<LinkResult?> TryLinkAsync(string emailKey, SalesforceId id, string linkedFrom, bool? observedOptOut, string? observedField, bool keepAwaiting, CancellationToken cancellationToken)
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
            link.MarkSynced(now, attempted: false, observedField);
        }

        // A lookup clears the flag only when it is complete: the outbound scan hands out awaiting addresses only,
        // so clearing it with the first match would lose the matches a failed later query has yet to find.
        state.AwaitingSalesforceId &= keepAwaiting;
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
