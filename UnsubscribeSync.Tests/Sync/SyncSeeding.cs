using Azure.Data.Tables;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>Writes ledger rows directly (one transaction per address, many in parallel) to seed large ledgers fast.</summary>
internal static class SyncSeeding
{
    public static async Task SeedLedgerAsync(TableClient table, IEnumerable<(string Email, string SalesforceId, LinkStatus Status)> entries, DateTimeOffset at)
    {
        var ct = TestContext.Current.CancellationToken;
        await Parallel.ForEachAsync(entries, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = ct }, async (entry, token) =>
        {
            EmailAddress.TryCreate(entry.Email, out var address, out _);
            var id = SalesforceId.Parse(entry.SalesforceId);
            var eventId = "seed-" + address!.LogId;
            var state = new ConsentStateEntity
            {
                PartitionKey = address.Key,
                Email = address.Value,
                State = nameof(ConsentState.Unsubscribed),
                StateSince = at,
                DecidedAt = at,
                StateSource = "link",
                StateEventId = eventId,
                CreatedAt = at,
                UpdatedAt = at,
            };
            var link = Links.InStatus(address.Key, id, entry.Status, desired: true, eventId, at);
            // Upsert, not add: a loaded Azurite can time out a transaction it committed, and the SDK's retry must not conflict.
            await table.SubmitTransactionAsync(
                [new TableTransactionAction(TableTransactionActionType.UpsertReplace, state), new TableTransactionAction(TableTransactionActionType.UpsertReplace, link)],
                token);
        });
    }
}
