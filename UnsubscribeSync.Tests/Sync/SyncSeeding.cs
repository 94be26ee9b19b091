using Azure.Data.Tables;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>Writes ledger rows directly (one transaction per address, several in parallel) to seed large ledgers fast.</summary>
internal static class SyncSeeding
{
    // Azurite is one Node process shared by every test running at once: 32 writers at a time starved the other tests'
    // requests past their 30 s storage budget, so seeding keeps to 8.
    private const int Writers = 8;

    public static async Task SeedLedgerAsync(TableClient table, IEnumerable<(string Email, string SalesforceId, LinkStatus Status)> entries, DateTimeOffset at)
    {
        var ct = TestContext.Current.CancellationToken;
        await Parallel.ForEachAsync(entries, new ParallelOptions { MaxDegreeOfParallelism = Writers, CancellationToken = ct }, async (entry, token) =>
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
            // Upsert, not add: a loaded Azurite can time out a transaction it committed, and a retry must not conflict. The
            // seeding is the test's arrangement, not the app under test, so it tries again where the SDK gave up.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await table.SubmitTransactionAsync(
                        [new TableTransactionAction(TableTransactionActionType.UpsertReplace, state), new TableTransactionAction(TableTransactionActionType.UpsertReplace, link)],
                        token);
                    return;
                }
                catch (AggregateException) when (attempt < 3 && !token.IsCancellationRequested)
                {
                }
            }
        });
    }
}
