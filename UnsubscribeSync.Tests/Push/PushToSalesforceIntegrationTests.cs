using System.Text;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Push;

/// <summary>
/// Webhook → queue → push against Azurite and the Salesforce sandbox over real HTTP, driving the
/// function classes as the host would (see <see cref="QueueHostEmulator"/>).
/// </summary>
public sealed class PushToSalesforceIntegrationTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private const string Custom = "MSC__Marketo_Sales_Opt_Out__c";
    private readonly TestStorage _storage = new();
    private ServiceProvider _services = null!;

    private CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await sandbox.Control.ResetAsync(Ct);
        await _storage.Bootstrap.EnsureCreatedAsync(Ct);
        _services = AppServices.Build(_storage, sandbox);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _storage.DisposeAsync();
    }

    private void Rebuild(IDictionary<string, string?> overrides)
    {
        _services.Dispose();
        _services = AppServices.Build(_storage, sandbox, overrides);
    }

    private async Task<int> PostAsync(object body)
    {
        var handler = _services.GetRequiredService<WebhookHandler>();
        var result = await handler.HandleAsync(HttpTestExtensions.JsonRequest(HttpTestExtensions.ToJson(body)), Ct);
        return (await result.ExecuteAsync()).Status;
    }

    private Task<int> DrainPushAsync()
    {
        var function = new PushToSalesforce(_services.GetRequiredService<Functions.Push.IPushService>());
        return new QueueHostEmulator(_storage.Clients.Queues).DrainAsync(_storage.Names.PushQueue, function.Run, Ct);
    }

    private async Task<RecordLinkEntity> LinkAsync(string email, string id)
    {
        var record = await _services.GetRequiredService<ILedgerStore>().GetAsync(EmailAddress.KeyOf(email), Ct);
        return record!.Links.Single(l => l.SalesforceId == id);
    }

    // The seed's rule: the field choice belongs to the nightly sync's settings; with the sync off, push still writes,
    // to Email Opt Out.
    [Theory]
    [InlineData("Contact", "EmailOptOut", true, "HasOptedOutOfEmail")]
    [InlineData("Lead", "EmailOptOut", true, "HasOptedOutOfEmail")]
    [InlineData("Contact", "MarketoSalesOptOut", true, Custom)]
    [InlineData("Lead", "MarketoSalesOptOut", true, Custom)]
    [InlineData("Contact", "EmailOptOut", false, "HasOptedOutOfEmail")]
    [InlineData("Lead", "EmailOptOut", false, "HasOptedOutOfEmail")]
    [InlineData("Contact", "MarketoSalesOptOut", false, "HasOptedOutOfEmail")]
    [InlineData("Lead", "MarketoSalesOptOut", false, "HasOptedOutOfEmail")]
    public async Task Run_AcceptedUnsubscribe_SetsEffectiveTargetFieldInSalesforce(string type, string target, bool nightly, string field)
    {
        // Arrange
        Rebuild(new Dictionary<string, string?> { ["Sync:TargetField"] = target, ["Sync:NightlyEnabled"] = nightly ? "true" : "false" });
        var email = $"{type}.{target}.{nightly}@example.com".ToLowerInvariant();
        var id = (await sandbox.Control.CreateRecordsAsync([new SandboxRecord(type, email)], Ct))[0];

        // Act
        var status = await PostAsync(new { id = $"evt-{type}-{target}-{nightly}", email, salesforceId = id });
        var delivered = await DrainPushAsync();

        // Assert: the chosen field holds the opt-out, the other one is untouched.
        Assert.Equal(202, status);
        Assert.Equal(1, delivered);
        var stored = await sandbox.Control.GetRecordAsync(id, Ct);
        Assert.True(stored[field]!.GetValue<bool>());
        var other = field == Custom ? "HasOptedOutOfEmail" : Custom;
        Assert.False(stored[other]!.GetValue<bool>());

        Assert.Equal(LinkStatus.Synced, (await LinkAsync(email, id)).Status);
        var stats = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal(1, stats.Sobject);
    }

    [Fact]
    public async Task Run_SameMessageDeliveredTwice_WritesOnce()
    {
        // Arrange
        var email = "twice@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email)], Ct))[0];
        await PostAsync(new { id = "evt-twice", email, salesforceId = id });
        var raw = (await _storage.Clients.Queues.GetQueueClient(_storage.Names.PushQueue).PeekMessageAsync(Ct)).Value.Body;
        await _storage.Clients.Queues.GetQueueClient(_storage.Names.PushQueue).SendMessageAsync(raw, cancellationToken: Ct);

        // Act
        var delivered = await DrainPushAsync();

        // Assert
        Assert.Equal(2, delivered);
        Assert.Equal(1, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task Run_ConvertedLead_WritesItsContactAndLinksIt()
    {
        // Arrange
        var email = "converted@example.com";
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead(email), SandboxRecord.Contact(email)], Ct);
        await sandbox.Control.ConvertLeadAsync(ids[0], ids[1], Ct);

        // Act
        await PostAsync(new { id = "evt-conv", email, salesforceId = ids[0] });
        await DrainPushAsync();

        // Assert
        Assert.True((await sandbox.Control.GetRecordAsync(ids[1], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        var lead = await LinkAsync(email, ids[0]);
        Assert.Equal((LinkStatus.Dead, "CANNOT_UPDATE_CONVERTED_LEAD"), (lead.Status, lead.LastErrorCode));
        var contact = await LinkAsync(email, ids[1]);
        Assert.Equal((LinkStatus.Synced, "redirect"), (contact.Status, contact.LinkedFrom));
    }

    [Fact]
    public async Task Run_MergedRecord_FollowsMasterRecord()
    {
        // Arrange
        var email = "merged@example.com";
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email), SandboxRecord.Contact(email)], Ct);
        await sandbox.Control.MergeAsync(ids[1], [ids[0]], Ct);

        // Act
        await PostAsync(new { id = "evt-merged", email, salesforceId = ids[0] });
        await DrainPushAsync();

        // Assert
        Assert.True((await sandbox.Control.GetRecordAsync(ids[1], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.Equal(LinkStatus.Dead, (await LinkAsync(email, ids[0])).Status);
        Assert.Equal(LinkStatus.Synced, (await LinkAsync(email, ids[1])).Status);
    }

    [Fact]
    public async Task Run_NewUnsubscribeAfterRecordUndeleted_RevivesLinkAndWrites()
    {
        // Arrange: the first push finds the record in the Recycle Bin, not merged: its link dies.
        var email = "restored@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email, optedOut: false)], Ct))[0];
        await sandbox.Control.UpdateRecordAsAdminAsync(id, new { IsDeleted = true }, Ct);
        await PostAsync(new { id = "evt-restored-1", email, salesforceId = id, occurredAt = "2026-11-28T10:00:00Z" });
        await DrainPushAsync();
        var dead = await LinkAsync(email, id);
        await sandbox.Control.UpdateRecordAsAdminAsync(id, new { IsDeleted = false }, Ct);

        // Act: the person unsubscribes again.
        await PostAsync(new { id = "evt-restored-2", email, salesforceId = id, occurredAt = "2026-11-28T11:00:00Z" });
        await DrainPushAsync();

        // Assert
        Assert.Equal((LinkStatus.Dead, "ENTITY_IS_DELETED"), (dead.Status, dead.LastErrorCode));
        Assert.True((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        var link = await LinkAsync(email, id);
        Assert.Equal((LinkStatus.Synced, "evt-restored-2"), (link.Status, link.SyncedEventId));
    }

    [Fact]
    public async Task Run_NewUnsubscribeAfterLeadConverted_LeadLinkStaysDead()
    {
        // Arrange
        var email = "converted.twice@example.com";
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead(email), SandboxRecord.Contact(email)], Ct);
        await sandbox.Control.ConvertLeadAsync(ids[0], ids[1], Ct);
        await PostAsync(new { id = "evt-conv-1", email, salesforceId = ids[0], occurredAt = "2026-11-28T10:00:00Z" });
        await DrainPushAsync();
        var before = await sandbox.Control.GetStatsAsync(Ct);

        // Act
        await PostAsync(new { id = "evt-conv-2", email, occurredAt = "2026-11-28T11:00:00Z" });
        await DrainPushAsync();

        // Assert: the contact carries the address now; the converted lead is not written to again.
        var lead = await LinkAsync(email, ids[0]);
        Assert.Equal((LinkStatus.Dead, "CANNOT_UPDATE_CONVERTED_LEAD"), (lead.Status, lead.LastErrorCode));
        Assert.Equal(LinkStatus.Synced, (await LinkAsync(email, ids[1])).Status);
        Assert.Equal(before.Sobject, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task Run_PermanentError_RecordsReasonAndCompletes()
    {
        // Arrange
        var email = "rule@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email)], Ct))[0];
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Region is required", RecordId: id));

        // Act
        await PostAsync(new { id = "evt-rule", email, salesforceId = id });
        var delivered = await DrainPushAsync();

        // Assert
        Assert.Equal(1, delivered);
        var link = await LinkAsync(email, id);
        Assert.Equal((LinkStatus.Failed, "FIELD_CUSTOM_VALIDATION_EXCEPTION"), (link.Status, link.LastErrorCode));
        Assert.Contains("Region is required", link.LastErrorMessage);
        var audit = await _storage.Audit.ReadAsync(EmailAddress.KeyOf(email), Ct).ToListAsync(Ct);
        Assert.Contains(audit, a => a.Kind == "push" && a.Outcome == "failed" && a.Detail!.Contains("FIELD_CUSTOM_VALIDATION_EXCEPTION"));
        Assert.Equal(0, await _storage.PushQueueClient.GetPropertiesAsync(Ct).ContinueWith(t => t.Result.Value.ApproximateMessagesCount, Ct));
    }

    [Fact]
    public async Task Run_TransientFaults_AreRetriedThenSucceed()
    {
        // Arrange: 4 failures outlast the client's retries (2) in the first delivery; the queue's retry succeeds.
        var email = "flaky@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email)], Ct))[0];
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 503, "SERVER_UNAVAILABLE", "server too busy", Count: 4));

        // Act
        await PostAsync(new { id = "evt-flaky", email, salesforceId = id });
        var deliveries = await DrainPushAsync();

        // Assert
        Assert.Equal(2, deliveries);
        Assert.True((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.Equal(LinkStatus.Synced, (await LinkAsync(email, id)).Status);
    }

    [Fact]
    public async Task Run_KeepsFailing_EndsInPoisonAndRecordPushFailureMarksFailed()
    {
        // Arrange
        var email = "down@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email)], Ct))[0];
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 503, "SERVER_UNAVAILABLE", "server too busy"));
        await PostAsync(new { id = "evt-down", email, salesforceId = id });

        // Act
        var deliveries = await DrainPushAsync();
        var failure = new RecordPushFailure(_services.GetRequiredService<Functions.Push.IPushService>());
        var poisoned = await new QueueHostEmulator(_storage.Clients.Queues).DrainAsync(_storage.Names.PushPoisonQueue, failure.Run, Ct);

        // Assert
        Assert.Equal(QueueHostEmulator.MaxDequeueCount, deliveries);
        Assert.Equal(1, poisoned);
        var link = await LinkAsync(email, id);
        Assert.Equal((LinkStatus.Failed, "SERVER_UNAVAILABLE"), (link.Status, link.LastErrorCode));
        Assert.Contains("nightly sync will retry", link.LastErrorMessage);
        Assert.True(link.DesiredOptOut);
    }

    [Fact]
    public async Task Run_FieldMissingOnLead_BlocksWithoutLossAndSucceedsOnceFieldExists()
    {
        // Arrange
        Rebuild(new Dictionary<string, string?> { ["Sync:TargetField"] = "MarketoSalesOptOut", ["Salesforce:FieldCacheLifetime"] = "00:00:00" });
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnLead = false }, Ct);
        var email = "nofield@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead(email)], Ct))[0];

        // Act
        await PostAsync(new { id = "evt-nofield", email, salesforceId = id });
        var deliveries = await DrainPushAsync();
        var blocked = await LinkAsync(email, id);
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnLead = true }, Ct);
        var retried = await _services.GetRequiredService<Functions.Push.IPushService>().PushAsync(
            new Functions.Push.PushMessage(1, EmailAddress.KeyOf(email), id, "Lead", true, "evt-nofield", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow).ToJson(), 2, Ct);

        // Assert
        Assert.Equal(1, deliveries);
        Assert.Equal(LinkStatus.Blocked, blocked.Status);
        Assert.Contains("Lead", blocked.LastErrorMessage);
        Assert.Contains("Sync__MarketoSalesOptOutField", blocked.LastErrorMessage);
        Assert.Equal(Functions.Push.PushOutcome.Synced, retried);
        Assert.True((await sandbox.Control.GetRecordAsync(id, Ct))[Custom]!.GetValue<bool>());
    }

    [Fact]
    public async Task Run_NightlyOffAndCustomFieldNotInstalled_WritesEmailOptOutInsteadOfBlocking()
    {
        // Arrange: an org without the Marketo Sales package, configured for its field but with the sync off.
        Rebuild(new Dictionary<string, string?> { ["Sync:TargetField"] = "MarketoSalesOptOut", ["Sync:NightlyEnabled"] = "false" });
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnContact = false, CustomFieldPresentOnLead = false }, Ct);
        var email = "nopackage@example.com";
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email), SandboxRecord.Lead(email)], Ct);

        // Act
        await PostAsync(new { unsubscribes = new[] { new { id = "evt-nopkg-c", email, salesforceId = ids[0] }, new { id = "evt-nopkg-l", email, salesforceId = ids[1] } } });
        await DrainPushAsync();

        // Assert: the field check looked for Email Opt Out, not for the missing custom field.
        foreach (var id in ids)
        {
            Assert.True((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
            Assert.Equal(LinkStatus.Synced, (await LinkAsync(email, id)).Status);
        }
    }

    [Fact]
    public async Task Run_TokenExpiresMidStream_RefreshesOnceAndWritesEverything()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("t1@example.com"), SandboxRecord.Contact("t2@example.com")], Ct);
        await PostAsync(new { id = "evt-t1", email = "t1@example.com", salesforceId = ids[0] });
        await DrainPushAsync();

        // Act
        await sandbox.Control.ExpireAllTokensAsync(Ct);
        await PostAsync(new { id = "evt-t2", email = "t2@example.com", salesforceId = ids[1] });
        await DrainPushAsync();

        // Assert
        var stats = await sandbox.Control.GetStatsAsync(Ct);
        Assert.Equal(2, stats.Token);
        Assert.All(ids, id => Assert.True(sandbox.Control.GetRecordAsync(id, Ct).Result["HasOptedOutOfEmail"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task Run_DailyLimitReached_DefersToNightlySyncAndCompletes()
    {
        // Arrange
        var email = "limit@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email)], Ct))[0];
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 1000, ApiUsage = 1000 }, Ct);

        // Act
        await PostAsync(new { id = "evt-limit", email, salesforceId = id });
        var deliveries = await DrainPushAsync();

        // Assert
        Assert.Equal(1, deliveries);
        Assert.Equal(LinkStatus.Deferred, (await LinkAsync(email, id)).Status);
        Assert.False((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Run_ResubscribeWhilePushResubscribesIsOff_WritesNothing()
    {
        // Arrange
        var email = "back@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email, optedOut: true)], Ct))[0];

        // Act
        await PostAsync(new { id = "evt-back", type = "resubscribe", email, salesforceId = id, occurredAt = "2026-11-28T10:00:00Z", reason = "Asked the admin" });
        await DrainPushAsync();

        // Assert
        Assert.Equal(LinkStatus.NotRequired, (await LinkAsync(email, id)).Status);
        Assert.True((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.Equal(0, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task Run_ResubscribeWhilePushResubscribesIsOn_ClearsTheField()
    {
        // Arrange
        Rebuild(new Dictionary<string, string?> { ["Sync:PushResubscribes"] = "true" });
        var email = "backon@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact(email, optedOut: true)], Ct))[0];

        // Act
        await PostAsync(new { id = "evt-backon", type = "resubscribe", email, salesforceId = id, occurredAt = "2026-11-28T10:00:00Z", reason = "Asked the admin" });
        await DrainPushAsync();

        // Assert
        Assert.False((await sandbox.Control.GetRecordAsync(id, Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.Equal(LinkStatus.Synced, (await LinkAsync(email, id)).Status);
    }
}
