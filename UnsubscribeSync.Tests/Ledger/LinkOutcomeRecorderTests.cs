using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Ledger;

/// <summary>The one outcome recorder against real Azurite rows: transitions, audit, and the ETag policy when someone changed the link meanwhile.</summary>
public sealed class LinkOutcomeRecorderTests : IAsyncLifetime
{
    private const string Email = "recorder@example.com";
    private static readonly SalesforceId Contact = SalesforceId.Parse("003000000000001");
    private readonly TestStorage _storage = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Key => EmailAddress.KeyOf(Email);

    private LinkOutcomeRecorder Recorder => new(_storage.Ledger, _storage.Audit, _storage.Time, NullLogger<LinkOutcomeRecorder>.Instance);

    public ValueTask InitializeAsync() => new(_storage.Bootstrap.EnsureCreatedAsync(Ct));

    public ValueTask DisposeAsync() => _storage.DisposeAsync();

    private async Task ApplyAsync(string id, ConsentEventType type, int minute)
    {
        EmailAddress.TryCreate(Email, out var address, out _);
        var at = new DateTimeOffset(2026, 11, 28, 10, minute, 0, TimeSpan.Zero);
        await _storage.Ledger.ApplyAsync(new ConsentEvent(id, type, address!, Contact, at, at, "link", null), Ct);
    }

    private async Task<RecordLinkEntity> ReadAsync() => (await _storage.Ledger.GetLinkAsync(Key, Contact.Value, Ct))!;

    private async Task<List<AuditEntity>> PushAuditAsync() =>
        (await _storage.Audit.ReadAsync(Key, Ct).ToListAsync(Ct)).Where(a => a.Kind == "push").ToList();

    [Fact]
    public async Task RecordAsync_WriteLanded_MarksSyncedAndKeepsEvidence()
    {
        // Arrange
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);

        // Act
        var result = await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Ct);

        // Assert
        var stored = await ReadAsync();
        Assert.Equal(RecordedAs.Applied, result.As);
        Assert.Equal((LinkStatus.Synced, "evt-1", 1), (stored.Status, stored.SyncedEventId, stored.Attempts));
        var audit = Assert.Single(await PushAuditAsync());
        Assert.Equal(("synced", "push", Contact.Value, "evt-1"), (audit.Outcome, audit.Channel, audit.Records, audit.EventId));
    }

    [Fact]
    public async Task RecordAsync_FailureAfterSomeoneElseConfirmedTheSameValue_KeepsTheConfirmation()
    {
        // Arrange: two workers read the same link; one confirms it first.
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);
        var stale = await ReadAsync();
        await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), "nightly-sync", Ct);

        // Act
        var result = await Recorder.RecordAsync(stale, LinkOutcome.Failed(true, "UNABLE_TO_LOCK_ROW", "locked"), "push", Ct);

        // Assert: the 412 made it read again and decide again; the failure was not written over the confirmation.
        Assert.Equal(RecordedAs.AlreadySettled, result.As);
        Assert.Equal(LinkStatus.Synced, (await ReadAsync()).Status);
        Assert.Equal(["failed", "synced"], (await PushAuditAsync()).Select(a => a.Outcome).Order());
    }

    [Fact]
    public async Task RecordAsync_StaleCopyWantingTheSameValue_ReadsAgainAndApplies()
    {
        // Arrange: the row moves on (a transient failure is noted) without changing what it wants.
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);
        var stale = await ReadAsync();
        await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Transient(true, "SERVER_UNAVAILABLE", "busy"), "push", Ct);

        // Act
        var result = await Recorder.RecordAsync(stale, LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Ct);

        // Assert
        var stored = await ReadAsync();
        Assert.Equal(RecordedAs.Applied, result.As);
        Assert.Equal((LinkStatus.Synced, 2, null), (stored.Status, stored.Attempts, stored.LastErrorCode));
    }

    [Fact]
    public async Task RecordAsync_OldValueLandedAfterNewerValueWasConfirmed_ReopensAndAsksForARewrite()
    {
        // Arrange: a resubscribe write was read; an unsubscribe then arrived and was confirmed first.
        await ApplyAsync("evt-1", ConsentEventType.Resubscribe, 0);
        var resubscribeWrite = await ReadAsync();
        await ApplyAsync("evt-2", ConsentEventType.Unsubscribe, 5);
        await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Ct);

        // Act: the stale resubscribe PATCH landed last, so Salesforce now holds false.
        var result = await Recorder.RecordAsync(resubscribeWrite, LinkOutcome.Written(false, "HasOptedOutOfEmail"), "push", Ct);

        // Assert: the ledger no longer claims Synced, and the caller is told to write the current value again.
        var stored = await ReadAsync();
        Assert.Equal((RecordedAs.Superseded, true), (result.As, result.MustRewrite));
        Assert.Equal((LinkStatus.Pending, true, "SUPERSEDED_WRITE"), (stored.Status, stored.DesiredOptOut, stored.LastErrorCode));
    }

    [Fact]
    public async Task RecordAsync_FailedWriteOfOldValue_ChangesNothing()
    {
        // Arrange
        await ApplyAsync("evt-1", ConsentEventType.Resubscribe, 0);
        var resubscribeWrite = await ReadAsync();
        await ApplyAsync("evt-2", ConsentEventType.Unsubscribe, 5);

        // Act
        var result = await Recorder.RecordAsync(resubscribeWrite, LinkOutcome.Failed(false, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "no"), "push", Ct);

        // Assert: a refused write left Salesforce as it was, so only the newer value is owed.
        var stored = await ReadAsync();
        Assert.Equal((RecordedAs.Superseded, false), (result.As, result.MustRewrite));
        Assert.Equal((LinkStatus.Pending, true, "evt-2", null), (stored.Status, stored.DesiredOptOut, stored.RequestedByEventId, stored.LastErrorCode));
    }

    [Fact]
    public async Task RecordAsync_ConfirmedLinkSeenWithoutItsValue_ReopensAsDrift()
    {
        // Arrange
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);
        await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Ct);

        // Act
        var result = await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Observed(false, "HasOptedOutOfEmail"), "nightly-sync", Ct);

        // Assert
        var stored = await ReadAsync();
        Assert.Equal(RecordedAs.Applied, result.As);
        Assert.Equal((LinkStatus.Pending, "DRIFT"), (stored.Status, stored.LastErrorCode));
    }

    [Fact]
    public async Task RecordAsync_LinkConfirmedOnAnotherFieldSeenWithoutItsValue_ReopensAsFieldChangedNotDrift()
    {
        // Arrange
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);
        await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Ct);

        // Act
        var result = await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Observed(false, "Custom__c"), "nightly-sync", Ct);

        // Assert
        var stored = await ReadAsync();
        Assert.Equal(RecordedAs.Applied, result.As);
        Assert.Equal((LinkStatus.Pending, LinkOutcomeRecorder.FieldChangedCode), (stored.Status, stored.LastErrorCode));
    }

    [Fact]
    public async Task RecordAsync_LinkConfirmedOnAnotherFieldSeenHoldingItsValue_ConfirmsItOnTheFieldRead()
    {
        // Arrange
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);
        await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Ct);

        // Act
        var result = await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Observed(true, "Custom__c"), "nightly-sync", Ct);

        // Assert
        var stored = await ReadAsync();
        Assert.Equal(RecordedAs.Applied, result.As);
        Assert.Equal((LinkStatus.Synced, "Custom__c"), (stored.Status, stored.SyncedField));
    }

    [Fact]
    public async Task RecordAsync_LinkDeletedMeanwhile_ReportsItGoneAndStillKeepsTheEvidence()
    {
        // Arrange
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);
        var link = await ReadAsync();
        await _storage.Clients.Tables.GetTableClient(_storage.Names.LedgerTable).DeleteEntityAsync(link.PartitionKey, link.RowKey, cancellationToken: Ct);

        // Act
        var result = await Recorder.RecordAsync(link, LinkOutcome.Written(true, "HasOptedOutOfEmail"), "push", Ct);

        // Assert
        Assert.Equal(RecordedAs.LinkGone, result.As);
        Assert.Equal("synced", Assert.Single(await PushAuditAsync()).Outcome);
    }

    [Fact]
    public async Task RecordAsync_AnyOutcome_StoresStatusAsItsName()
    {
        // Arrange
        await ApplyAsync("evt-1", ConsentEventType.Unsubscribe, 0);

        // Act
        await Recorder.RecordAsync(await ReadAsync(), LinkOutcome.Deferred(true, "API_BUDGET", "later", attempted: false), "nightly-sync", Ct);

        // Assert: rows keep the shape they had when Status was a string, so nothing needs migrating.
        var raw = await _storage.Clients.Tables.GetTableClient(_storage.Names.LedgerTable)
            .GetEntityAsync<TableEntity>(Key, RecordLinkEntity.RowKeyFor(Contact.Value), cancellationToken: Ct);
        Assert.Equal("Deferred", raw.Value.GetString(nameof(RecordLinkEntity.Status)));
        Assert.Empty(await PushAuditAsync());
    }
}
