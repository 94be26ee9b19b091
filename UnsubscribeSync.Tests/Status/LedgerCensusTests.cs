using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Status;

namespace UnsubscribeSync.Tests.Status;

/// <summary>The ledger census against Azurite: bounded ticks that resume, and counts of every status.</summary>
public sealed class LedgerCensusTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TickAsync_LedgerLargerThanOneTick_ResumesAcrossTicksAndCountsEveryStatus()
    {
        // Arrange: 5 addresses x 10 links, one page of 10 rows per tick; and 2 addresses awaiting an Id.
        await using var app = await StatusApp.CreateAsync(null, new Dictionary<string, string?> { ["Admin:CensusPageSize"] = "10", ["Admin:CensusPagesPerTick"] = "1" });
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(5, 10, (i, link) =>
        {
            switch (i % 10)
            {
                case 0: link.Request(true, "evt-again", now.AddHours(-30)); break;
                case 1: link.MarkFailed("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Validation rule", attempted: true, now); break;
                case 2: link.MarkFailed("NOT_FOUND_OR_NOT_VISIBLE", "Not visible", attempted: true, now); break;
                case 3: link.MarkBlocked("OPT_OUT_FIELD_UNUSABLE", "field Marketo Sales Opt Out not found on Lead", attempted: false, now); break;
                case 4: link.MarkDeferred("API_BUDGET", "Above the budget", attempted: false, now); break;
                case 5: link.MarkDead("ENTITY_IS_DELETED", "In the Recycle Bin", now); break;
                case 6: link.MarkNotRequired("Resubscribe not pushed", now); break;
                default: break; // Synced
            }
        });
        var table = app.Storage.Clients.Tables.GetTableClient(app.Storage.Names.LedgerTable);
        foreach (var email in new[] { "lonely1@example.com", "lonely2@example.com" })
        {
            await table.AddEntityAsync(new ConsentStateEntity { PartitionKey = Functions.Shared.EmailAddress.KeyOf(email), Email = email, AwaitingSalesforceId = true, State = "Unsubscribed" }, Ct);
        }

        // Act
        var first = await app.Census.TickAsync(Ct);
        var ticks = 1 + await app.CountLedgerAsync();

        // Assert: 57 rows at 10 a tick: never more than one page per invocation.
        Assert.Equal(CensusTickOutcome.Continued, first);
        var snapshot = await app.Census.GetSnapshotAsync(Ct);
        Assert.NotNull(snapshot);
        Assert.Equal(57, snapshot.RowsRead);
        Assert.Equal(6, ticks);
        var counts = LedgerCounts.FromJson(snapshot.CountsJson);
        Assert.Equal((7L, 2L, 5L), (counts.Addresses, counts.AwaitingId, counts.Pending));
        Assert.Equal((15L, 5L, 5L, 5L), (counts.Synced, counts.Deferred, counts.Dead, counts.NotRequired));
        Assert.Equal(new Dictionary<string, long> { ["FIELD_CUSTOM_VALIDATION_EXCEPTION"] = 5, ["NOT_FOUND_OR_NOT_VISIBLE"] = 5 }, counts.FailedByCode);
        Assert.Equal(new Dictionary<string, long> { ["field Marketo Sales Opt Out not found on Lead"] = 5 }, counts.BlockedByProblem);
        Assert.Equal(now.AddHours(-30), counts.OldestOwedSince);
        Assert.Equal(15L, counts.SyncedPerDay[LedgerCounts.DayKey(now)]);
    }

    [Fact]
    public async Task TickAsync_CompletedCount_NextTickStartsAFreshCount()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(null);
        await app.SeedLedgerAsync(2, 3);
        await app.CountLedgerAsync();
        await app.SeedLedgerAsync(4, 3);

        // Act
        var outcome = await app.Census.TickAsync(Ct);

        // Assert: the new count replaced the old one, nothing was added twice.
        Assert.Equal(CensusTickOutcome.Completed, outcome);
        var counts = LedgerCounts.FromJson((await app.Census.GetSnapshotAsync(Ct))!.CountsJson);
        Assert.Equal((4L, 12L), (counts.Addresses, counts.Synced));
    }
}
