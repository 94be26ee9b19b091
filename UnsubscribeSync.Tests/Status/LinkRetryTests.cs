using Azure.Data.Tables;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Status;

/// <summary><c>POST /api/links/retry</c>: stopped links re-queued now, bounded, filtered and idempotent.</summary>
public sealed class LinkRetryTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Eight links: two failed (lock, validation), two blocked, two deferred, one synced, one pending.</summary>
    private static async Task SeedMixedAsync(StatusApp app)
    {
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(1, 8, (i, link) =>
        {
            switch (i)
            {
                case 0: link.MarkFailed("UNABLE_TO_LOCK_ROW", "locked", attempted: true, now); break;
                case 1: link.MarkFailed("FIELD_CUSTOM_VALIDATION_EXCEPTION", "rule", attempted: true, now); break;
                case 2 or 3: link.MarkBlocked("OPT_OUT_FIELD_UNUSABLE", "field missing", attempted: false, now); break;
                case 4 or 5: link.MarkDeferred("API_BUDGET", "budget", attempted: false, now); break;
                case 6: break;
                default: link.Request(true, "evt-p", now); break;
            }
        });
    }

    private static async Task<Dictionary<string, LinkStatus>> StatusesAsync(StatusApp app)
    {
        var table = app.Storage.Clients.Tables.GetTableClient(app.Storage.Names.LedgerTable);
        var links = new Dictionary<string, LinkStatus>();
        await foreach (var link in table.QueryAsync<RecordLinkEntity>(TableClient.CreateQueryFilter($"RowKey ne {ConsentStateEntity.RowKeyValue}"), cancellationToken: Ct))
        {
            links[link.SalesforceId] = link.Status;
        }

        return links;
    }

    [Fact]
    public async Task Run_NoFilter_QueuesEveryFailedBlockedAndDeferredLinkOnce()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);
        await SeedMixedAsync(app);

        // Act
        var first = await app.RetryLinksAsync();
        var second = await app.RetryLinksAsync();

        // Assert: six queued, each once; the second call finds nothing left to retry.
        Assert.Equal(200, first.Status);
        Assert.Equal((6, 6, true), (first.Json["matched"]!.GetValue<int>(), first.Json["queued"]!.GetValue<int>(), first.Json["complete"]!.GetValue<bool>()));
        Assert.Equal((0, 0), (second.Json["matched"]!.GetValue<int>(), second.Json["queued"]!.GetValue<int>()));
        var messages = await app.Storage.PeekPushMessagesAsync(Ct);
        Assert.Equal(6, messages.Count);
        Assert.Equal(6, messages.Select(m => m.SalesforceId).Distinct().Count());
        var statuses = await StatusesAsync(app);
        Assert.Equal(7, statuses.Values.Count(s => s == LinkStatus.Pending));
        Assert.Equal(1, statuses.Values.Count(s => s == LinkStatus.Synced));
        Assert.Equal("no-store", first.Headers.CacheControl.ToString());
    }

    [Fact]
    public async Task Run_StatusAndErrorCodeFilter_QueuesOnlyThoseLinks()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);
        await SeedMixedAsync(app);

        // Act
        var locked = await app.RetryLinksAsync(new Dictionary<string, string?> { ["status"] = "failed", ["errorCode"] = "UNABLE_TO_LOCK_ROW" });
        var blocked = await app.RetryLinksAsync(new Dictionary<string, string?> { ["status"] = "Blocked" });

        // Assert
        Assert.Equal(1, locked.Json["queued"]!.GetValue<int>());
        Assert.Equal("UNABLE_TO_LOCK_ROW", locked.Json["errorCode"]!.GetValue<string>());
        Assert.Equal(2, blocked.Json["queued"]!.GetValue<int>());
        Assert.Equal(["blocked"], blocked.Json["statuses"]!.AsArray().Select(s => s!.GetValue<string>()));
        var statuses = await StatusesAsync(app);
        Assert.Equal(1, statuses.Values.Count(s => s == LinkStatus.Failed));
        Assert.Equal(2, statuses.Values.Count(s => s == LinkStatus.Deferred));
        Assert.Equal(3, (await app.Storage.PeekPushMessagesAsync(Ct)).Count);
    }

    [Fact]
    public async Task Run_LimitBelowTheMatches_QueuesAtMostTheLimitAndTheNextCallTakesTheRest()
    {
        // Arrange: 30 failed links.
        await using var app = await StatusApp.CreateAsync(sandbox);
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(3, 10, (_, link) => link.MarkFailed("UNABLE_TO_LOCK_ROW", "locked", attempted: true, now));

        // Act
        var first = await app.RetryLinksAsync(new Dictionary<string, string?> { ["limit"] = "12" });
        var rest = await app.RetryLinksAsync(new Dictionary<string, string?> { ["limit"] = "100" });

        // Assert
        Assert.Equal(12, first.Json["queued"]!.GetValue<int>());
        Assert.Equal(18, rest.Json["queued"]!.GetValue<int>());
        Assert.True(rest.Json["complete"]!.GetValue<bool>());
        Assert.Equal(30, (await app.Storage.PeekPushMessagesAsync(Ct)).Select(m => m.SalesforceId).Distinct().Count());
    }

    [Fact]
    public async Task Run_ContinuationFromAnEarlierAnswer_CarriesOnTheScan()
    {
        // Arrange: 30 failed links; a first call that stops early.
        await using var app = await StatusApp.CreateAsync(sandbox);
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(3, 10, (_, link) => link.MarkFailed("UNABLE_TO_LOCK_ROW", "locked", attempted: true, now));
        var first = await app.RetryLinksAsync(new Dictionary<string, string?> { ["limit"] = "10" });
        Assert.False(first.Json["complete"]!.GetValue<bool>());
        var continuation = first.Json["continuation"]!.GetValue<string>();

        // Act
        var next = await app.RetryLinksAsync(new Dictionary<string, string?> { ["limit"] = "10", ["continuation"] = continuation });

        // Assert: the second call starts where the first stopped (no link of the first is matched again).
        Assert.Equal(10, next.Json["queued"]!.GetValue<int>());
        Assert.Equal(20, (await app.Storage.PeekPushMessagesAsync(Ct)).Select(m => m.SalesforceId).Distinct().Count());
    }

    [Fact]
    public async Task Run_FailedLinkOfARealRecord_ReachesSalesforceWhenThePushRuns()
    {
        // Arrange: a Contact whose push failed (a lock) and was recorded failed.
        await using var app = await StatusApp.CreateAsync(sandbox);
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("retry-now@example.com", optedOut: false)], Ct))[0];
        var now = app.Storage.Time.GetUtcNow();
        var key = EmailAddress.KeyOf("retry-now@example.com");
        var link = RecordLinkEntity.Create(key, SalesforceId.Parse(id), true, "event", "evt-retry", now);
        link.MarkFailed("UNABLE_TO_LOCK_ROW", "locked", attempted: true, now);
        await app.Storage.Clients.Tables.GetTableClient(app.Storage.Names.LedgerTable).SubmitTransactionAsync(
            [
                new(TableTransactionActionType.Add, new ConsentStateEntity
                {
                    PartitionKey = key, Email = "retry-now@example.com", State = nameof(ConsentState.Unsubscribed), StateSince = now, DecidedAt = now,
                    StateEventId = "evt-retry", CreatedAt = now, UpdatedAt = now,
                }),
                new(TableTransactionActionType.Add, link),
            ],
            Ct);

        // Act
        var answer = await app.RetryLinksAsync();
        await app.DrainPushAsync();

        // Assert: written, confirmed, and the retry itself is in the address's audit.
        Assert.Equal(1, answer.Json["queued"]!.GetValue<int>());
        var record = await sandbox.Control.GetRecordAsync(id, Ct);
        Assert.True(record["HasOptedOutOfEmail"]!.GetValue<bool>());
        var stored = await app.Storage.Ledger.GetLinkAsync(key, id, Ct);
        Assert.Equal(LinkStatus.Synced, stored!.Status);
        var audit = new List<AuditEntity>();
        await foreach (var entry in app.Storage.Audit.ReadAsync(key, Ct))
        {
            audit.Add(entry);
        }

        Assert.Contains(audit, e => e is { Channel: "admin-retry", Outcome: "retry-requested" });
        Assert.Contains(audit, e => e is { Channel: "push", Outcome: "synced" });
    }

    [Theory]
    [InlineData("status", "dead", "status")]
    [InlineData("status", "failed,synced", "status")]
    [InlineData("errorCode", "lock row; drop", "errorCode")]
    [InlineData("limit", "0", "limit")]
    [InlineData("limit", "5001", "limit")]
    [InlineData("limit", "ten", "limit")]
    [InlineData("continuation", "not-a-continuation!", "continuation")]
    [InlineData("statuses", "failed", "statuses")]
    public async Task Run_BadParameter_Returns400NamingItAndQueuesNothing(string name, string value, string field)
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);
        await SeedMixedAsync(app);

        // Act
        var answer = await app.RetryLinksAsync(new Dictionary<string, string?> { [name] = value });

        // Assert
        Assert.Equal(400, answer.Status);
        Assert.Equal("application/problem+json", answer.ContentType);
        Assert.NotNull(answer.Json["errors"]![field]);
        Assert.Empty(await app.Storage.PeekPushMessagesAsync(Ct));
        Assert.Equal(2, (await StatusesAsync(app)).Values.Count(s => s == LinkStatus.Failed));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key-0123456789abcdef0123456789abcdef")]
    public async Task Run_WithoutTheAdminKey_Returns401AndQueuesNothing(string? key)
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);
        await SeedMixedAsync(app);

        // Act
        var answer = await app.RetryLinksAsync(key: key);

        // Assert
        Assert.Equal(401, answer.Status);
        Assert.Empty(await app.Storage.PeekPushMessagesAsync(Ct));
    }

    [Fact]
    public async Task Run_StorageUnreachable_Returns503WithRetryAfter()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox, connectionString: TestStorage.UnreachableConnectionString);

        // Act
        var answer = await app.RetryLinksAsync();

        // Assert
        Assert.Equal(503, answer.Status);
        Assert.Equal("urn:unsubscribesync:problem:storage-unavailable", answer.Json["type"]!.GetValue<string>());
        Assert.Equal("30", answer.Headers.RetryAfter.ToString());
    }
}
