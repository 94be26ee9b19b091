using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sync;

/// <summary>The intake sweep as queued, paged batches of the run's first phase, each record on its own.</summary>
public sealed class IntakeSweepTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Accepts an event whose ledger write fails, as a webhook call answered 503 and never retried leaves it.</summary>
    internal static async Task StopHalfWayAsync(SyncHarness h, string eventId, string email, string? salesforceId = null)
    {
        var broken = Substitute.For<ILedgerStore>();
        broken.ApplyAsync(Arg.Any<ConsentEvent>(), Arg.Any<CancellationToken>()).ThrowsAsync(new RequestFailedException(503, "Server busy"));
        EmailAddress.TryCreate(email, out var address, out _);
        var now = h.Storage.Time.GetUtcNow();
        var e = new ConsentEvent(eventId, ConsentEventType.Unsubscribe, address!, salesforceId is null ? null : SalesforceId.Parse(salesforceId), now, now, "link", null);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => h.Storage.CreateIntake(ledger: broken).AcceptAsync([e], Ct));
    }

    [Fact]
    public async Task RunNightly_DamagedIntakeAmongManyPages_FinishesTheOthersAndCountsIt()
    {
        // Arrange: five half-finished intakes and one row whose event no longer reads, swept two rows a page.
        await using var h = await SyncHarness.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:IntakeSweepPageSize"] = "2" });
        var ids = await sandbox.Control.CreateRecordsAsync(
            Enumerable.Range(0, 5).Select(i => SandboxRecord.Contact($"sweep{i}@example.com", optedOut: false)), Ct);
        for (var i = 0; i < ids.Count; i++)
        {
            await StopHalfWayAsync(h, $"evt-sweep-{i}", $"sweep{i}@example.com", ids[i]);
        }

        await h.Storage.IntakeRecords.GetOrAddAsync(
            new IntakeRecordEntity
            {
                PartitionKey = IntakeRecords.KeyOf("evt-damaged"),
                EventId = "evt-damaged",
                EmailKey = StableKey.Of("damaged"),
                ReceivedAt = h.Storage.Time.GetUtcNow(),
                EventJson = "{\"id\":",
            },
            Ct);
        await h.AdvanceAsync(TimeSpan.FromMinutes(20));

        // Act
        var run = await h.RunNightlyAsync();

        // Assert: before the sweep was a batch, the damaged row's exception ended the tick and nothing ran that night.
        Assert.Equal(nameof(SyncPhase.Completed), run.Phase);
        var report = SyncHarness.Report(run);
        Assert.Equal((5, 1, 0), (report.IntakesCompleted, report.IntakesFailed, report.BatchesAbandoned));
        foreach (var id in ids)
        {
            Assert.True(await h.SalesforceOptOutAsync(id));
        }

        var left = Assert.Single(await h.Storage.IntakeRecords.FindUnfinishedAsync(DateTimeOffset.MaxValue, Ct).ToListAsync(Ct));
        Assert.Equal("evt-damaged", left.EventId);
        var runs = h.Storage.Clients.Tables.GetTableClient(h.Storage.Names.SyncRunsTable);
        var sweeps = await runs.QueryAsync<SyncBatchEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {run.PartitionKey} and Kind eq {nameof(SyncWorkKind.IntakeSweep)}"), cancellationToken: Ct).CountAsync(Ct);
        Assert.True(sweeps >= 3, $"six rows two a page take at least three sweep batches, not {sweeps}");
    }

    [Fact]
    public async Task RunAsync_StorageUnavailableForOneRecord_FailsThePageForTheQueueToRetry()
    {
        // Arrange: an outage is not the record's fault, so the page fails (and is retried) instead of counting it failed.
        var (sweep, records, intake, context) = Unit();
        var first = new IntakeRecordEntity { PartitionKey = "a" };
        var second = new IntakeRecordEntity { PartitionKey = "b" };
        records.FindUnfinishedPageAsync(Arg.Any<DateTimeOffset>(), null, Arg.Any<int>(), Arg.Any<CancellationToken>())
            .Returns(new IntakeSweepPage([first, second], "next"));
        intake.CompleteAsync(first, Arg.Any<CancellationToken>()).Returns(true);
        intake.CompleteAsync(second, Arg.Any<CancellationToken>()).ThrowsAsync(new RequestFailedException(503, "Server busy"));

        // Act
        await Assert.ThrowsAsync<RequestFailedException>(() => sweep.RunAsync(new SyncWorkItem { Kind = SyncWorkKind.IntakeSweep }, context, Ct));

        // Assert
        Assert.Equal(0, context.Counters.IntakesFailed);
        Assert.Empty(context.Children);
    }

    [Fact]
    public async Task RunAsync_PageWithContinuation_PlansTheNextPageFromTheRunsCutOff()
    {
        // Arrange
        var (sweep, records, intake, context) = Unit();
        records.FindUnfinishedPageAsync(Arg.Any<DateTimeOffset>(), "page-2", 1000, Arg.Any<CancellationToken>())
            .Returns(new IntakeSweepPage([new IntakeRecordEntity { PartitionKey = "a" }], "page-3"));
        intake.CompleteAsync(Arg.Any<IntakeRecordEntity>(), Arg.Any<CancellationToken>()).Returns(false);

        // Act
        await sweep.RunAsync(new SyncWorkItem { Kind = SyncWorkKind.IntakeSweep, Continuation = "page-2" }, context, Ct);

        // Assert: the cut-off is the run's planning time, not the clock, so every page and retry looks for the same rows.
        await records.Received(1).FindUnfinishedPageAsync(context.Run.Until - TimeSpan.FromMinutes(15), "page-2", 1000, Arg.Any<CancellationToken>());
        var next = Assert.Single(context.Children);
        Assert.Equal((SyncWorkKind.IntakeSweep, "page-3"), (next.Kind, next.Continuation));
        Assert.Equal((0, 0), (context.Counters.IntakesCompleted, context.Counters.IntakesFailed));
    }

    private static (IntakeSweep Sweep, IIntakeRecords Records, IIntakeService Intake, SyncBatchContext Context) Unit()
    {
        var records = Substitute.For<IIntakeRecords>();
        var intake = Substitute.For<IIntakeService>();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 4, 0, 0, TimeSpan.Zero));
        var budget = new ApiBudget(
            Substitute.For<ISalesforceApiUsage>(), Substitute.For<ISalesforceClient>(), Options.Create(new SyncOptions()), time, NullLogger<ApiBudget>.Instance);
        var run = new SyncRunEntity { PartitionKey = "run", StartedAt = time.GetUtcNow(), Until = time.GetUtcNow() };
        var sweep = new IntakeSweep(records, intake, Options.Create(new NightlySyncOptions()), NullLogger<IntakeSweep>.Instance);
        return (sweep, records, intake, new SyncBatchContext(run, budget));
    }
}
