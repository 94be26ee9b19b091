using Azure.Data.Tables;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The nightly run removes expired working rows in bounded batches, and nothing anything still needs.</summary>
public sealed class RetentionTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunNightly_FinishedIntakesOlderThanRetention_RemovesThemInBatchesAndKeepsTheRest()
    {
        // Arrange: 250 finished intakes 31 days old, 3 finished yesterday, 2 that never finished (60 days old).
        await using var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?> { ["Retention:BatchRows"] = "100" });
        var now = h.Storage.Time.GetUtcNow();
        await AddIntakesAsync(h, "old", 250, IntakeStage.Queued, completedAt: now.AddDays(-31));
        await AddIntakesAsync(h, "young", 3, IntakeStage.Queued, completedAt: now.AddDays(-1));
        await AddIntakesAsync(h, "unfinished", 2, IntakeStage.Received, completedAt: null, receivedAt: now.AddDays(-60));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert: the old finished ones went, three batches of at most 100; the young and the unfinished stayed.
        var left = await IntakeIdsAsync(h);
        Assert.DoesNotContain(left, id => id.StartsWith("old-", StringComparison.Ordinal));
        Assert.Equal(3, left.Count(id => id.StartsWith("young-", StringComparison.Ordinal)));
        Assert.Equal(2, left.Count(id => id.StartsWith("unfinished-", StringComparison.Ordinal)));
        Assert.Equal(250, SyncHarness.Report(run).RowsRemoved[nameof(RetentionTarget.Intake)]);
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        var batches = await RetentionBatchesAsync(h, run.PartitionKey, RetentionTarget.Intake);
        Assert.Equal(3, batches);
    }

    [Fact]
    public async Task RunNightly_MoreExpiredThanOneRunMayRemove_StopsAtTheBoundAndTheNextRunCarriesOn()
    {
        // Arrange
        await using var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?>
        {
            ["Retention:BatchRows"] = "100",
            ["Retention:MaxRowsPerRun"] = "150",
        });
        await AddIntakesAsync(h, "old", 250, IntakeStage.Queued, completedAt: h.Storage.Time.GetUtcNow().AddDays(-40));

        // Act
        var first = await h.RunNightlyAsync();
        var afterFirst = (await IntakeIdsAsync(h)).Count;
        await h.AdvanceAsync(TimeSpan.FromDays(1));
        var second = await h.RunNightlyAsync();

        // Assert: the first run stops within one batch of its bound; the second removes the rest.
        var removedFirst = SyncHarness.Report(first).RowsRemoved[nameof(RetentionTarget.Intake)];
        Assert.InRange(removedFirst, 150, 199);
        Assert.Equal(250 - removedFirst, afterFirst);
        Assert.Equal(250 - removedFirst, SyncHarness.Report(second).RowsRemoved[nameof(RetentionTarget.Intake)]);
        Assert.Empty(await IntakeIdsAsync(h));
    }

    [Fact]
    public async Task RunNightly_CompletedRunsOlderThanRetention_RemovesTheirRunAndBatchRows()
    {
        // Arrange: a run 91 days ago, one 10 days ago.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        var oldest = await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromDays(81));
        var recent = await h.RunNightlyAsync();
        await h.AdvanceAsync(TimeSpan.FromDays(10));

        // Act
        var latest = await h.RunNightlyAsync();

        // Assert
        Assert.Empty(await RowsOfAsync(h, oldest.PartitionKey));
        Assert.NotEmpty(await RowsOfAsync(h, recent.PartitionKey));
        var runs = await h.Runs.ListRunsAsync(Ct);
        Assert.Equal([latest.PartitionKey, recent.PartitionKey], runs.Select(r => r.PartitionKey));
        Assert.Equal(oldest.BatchesPlanned + 1, SyncHarness.Report(latest).RowsRemoved[nameof(RetentionTarget.SyncRuns)]);
        Assert.Equal(nameof(SyncPhase.Completed), latest.Phase);
    }

    [Fact]
    public async Task RunNightly_AuditRetentionDefault_KeepsAuditRowsForEver()
    {
        // Arrange: an unsubscribe audited ten years ago.
        await using var h = await SyncHarness.CreateAsync(sandbox);
        await h.UnsubscribeAsync("evt-audit-kept", "kept@example.com", null, h.Storage.Time.GetUtcNow());
        var before = await AuditRowsAsync(h, "kept@example.com");
        await h.AdvanceAsync(TimeSpan.FromDays(3650));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert
        Assert.NotEmpty(before);
        Assert.Equal(before, await AuditRowsAsync(h, "kept@example.com"));
        Assert.False(SyncHarness.Report(run).RowsRemoved.ContainsKey(nameof(RetentionTarget.Audit)));
    }

    [Fact]
    public async Task RunNightly_AuditRetentionSet_RemovesOnlyRowsOlderThanIt()
    {
        // Arrange: one address audited 400 days ago, another 10 days ago, with a retention of 365 days.
        await using var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?> { ["Retention:AuditDays"] = "365" });
        await h.UnsubscribeAsync("evt-audit-old", "old-audit@example.com", null, h.Storage.Time.GetUtcNow());
        await h.AdvanceAsync(TimeSpan.FromDays(390));
        await h.UnsubscribeAsync("evt-audit-new", "new-audit@example.com", null, h.Storage.Time.GetUtcNow());
        var recent = await AuditRowsAsync(h, "new-audit@example.com");
        await h.AdvanceAsync(TimeSpan.FromDays(10));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert: the ledger still knows the old address; only its expired audit rows went.
        Assert.Empty(await AuditRowsAsync(h, "old-audit@example.com"));
        Assert.Equal(recent, await AuditRowsAsync(h, "new-audit@example.com"));
        Assert.Equal(ConsentState.Unsubscribed, (await h.GetLedgerAsync("old-audit@example.com"))!.State.ConsentState);
        Assert.True(SyncHarness.Report(run).RowsRemoved[nameof(RetentionTarget.Audit)] >= 1);
    }

    private static async Task AddIntakesAsync(SyncHarness h, string prefix, int count, IntakeStage stage, DateTimeOffset? completedAt, DateTimeOffset? receivedAt = null)
    {
        var table = h.Storage.Clients.Tables.GetTableClient(h.Storage.Names.IntakeTable);
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, ct) =>
        {
            var id = $"{prefix}-{i}";
            await table.AddEntityAsync(
                new IntakeRecordEntity
                {
                    PartitionKey = IntakeRecords.KeyOf(id),
                    EventId = id,
                    EmailKey = StableKey.Of($"{id}@example.com"),
                    Stage = stage.ToString(),
                    ReceivedAt = receivedAt ?? completedAt ?? h.Storage.Time.GetUtcNow(),
                    CompletedAt = completedAt,
                    // An event that no longer reads: the sweep counts it failed and leaves it, which is all this test needs of it.
                    EventJson = "{}",
                },
                ct);
        });
    }

    private static async Task<List<string>> IntakeIdsAsync(SyncHarness h)
    {
        var table = h.Storage.Clients.Tables.GetTableClient(h.Storage.Names.IntakeTable);
        var ids = new List<string>();
        await foreach (var row in table.QueryAsync<IntakeRecordEntity>(cancellationToken: Ct))
        {
            ids.Add(row.EventId);
        }

        return ids;
    }

    private static async Task<int> RetentionBatchesAsync(SyncHarness h, string runId, RetentionTarget target)
    {
        var count = 0;
        await foreach (var batch in h.Storage.Clients.Tables.GetTableClient(h.Storage.Names.SyncRunsTable)
            .QueryAsync<SyncBatchEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {runId} and RowKey ne {SyncRunEntity.RowKeyValue}"), cancellationToken: Ct))
        {
            if (SyncWorkItem.FromJson(batch.ItemJson) is { Kind: SyncWorkKind.Retention } item && item.Target == target.ToString())
            {
                count++;
            }
        }

        return count;
    }

    private static async Task<List<string>> RowsOfAsync(SyncHarness h, string runId)
    {
        var rows = new List<string>();
        await foreach (var row in h.Storage.Clients.Tables.GetTableClient(h.Storage.Names.SyncRunsTable)
            .QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {runId}"), cancellationToken: Ct))
        {
            rows.Add(row.RowKey);
        }

        return rows;
    }

    private static async Task<List<string>> AuditRowsAsync(SyncHarness h, string email)
    {
        EmailAddress.TryCreate(email, out var address, out _);
        var rows = new List<string>();
        await foreach (var entry in h.Storage.Audit.ReadAsync(address!.Key, Ct))
        {
            rows.Add(entry.RowKey);
        }

        return rows;
    }
}
