using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Delivery;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Push;

/// <summary>Webhook → queue → push to Person Accounts (001 Ids on Account) against Azurite and the sandbox.</summary>
public sealed class PersonAccountPushIntegrationTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private const string PersonCustom = "MSC__Marketo_Sales_Opt_Out__pc";
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

    // The seed's rule holds on Person Accounts too: with the sync off, push writes Email Opt Out whatever the field choice.
    [Theory]
    [InlineData("EmailOptOut", true, "PersonHasOptedOutOfEmail")]
    [InlineData("MarketoSalesOptOut", true, PersonCustom)]
    [InlineData("EmailOptOut", false, "PersonHasOptedOutOfEmail")]
    [InlineData("MarketoSalesOptOut", false, "PersonHasOptedOutOfEmail")]
    public async Task Run_UnsubscribeWithAccountId_SetsThePersonAccountsEffectiveField(string target, bool nightly, string field)
    {
        // Arrange
        Rebuild(new Dictionary<string, string?> { ["Sync:TargetField"] = target, ["Sync:NightlyEnabled"] = nightly ? "true" : "false" });
        var email = $"person.{target}.{nightly}@example.com".ToLowerInvariant();
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount(email)], Ct))[0];

        // Act: given in its 15-character form, as a Salesforce report exports it.
        var status = await PostAsync(new { id = $"evt-pa-{target}-{nightly}", email, salesforceId = id[..15] });
        var delivered = await DrainPushAsync();

        // Assert: the chosen field holds the opt-out, the other one is untouched.
        Assert.Equal(202, status);
        Assert.Equal(1, delivered);
        var stored = await sandbox.Control.GetRecordAsync(id, Ct);
        Assert.True(stored[field]!.GetValue<bool>());
        var other = field == PersonCustom ? "PersonHasOptedOutOfEmail" : PersonCustom;
        Assert.False(stored[other]!.GetValue<bool>());
        var link = await LinkAsync(email, id);
        Assert.Equal((LinkStatus.Synced, "Account", field), (link.Status, link.ObjectType, link.SyncedField));
        Assert.Equal(1, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task Run_ContactAndPersonAccountTogether_WriteEachWithItsOwnField()
    {
        // Arrange
        Rebuild(new Dictionary<string, string?> { ["Sync:TargetField"] = "MarketoSalesOptOut" });
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("c@example.com"), SandboxRecord.PersonAccount("p@example.com")], Ct);

        // Act
        await PostAsync(new { unsubscribes = new[] { new { id = "evt-c", email = "c@example.com", salesforceId = ids[0] }, new { id = "evt-p", email = "p@example.com", salesforceId = ids[1] } } });
        await DrainPushAsync();

        // Assert
        Assert.True((await sandbox.Control.GetRecordAsync(ids[0], Ct))[sandbox.CustomOptOutField]!.GetValue<bool>());
        Assert.True((await sandbox.Control.GetRecordAsync(ids[1], Ct))[PersonCustom]!.GetValue<bool>());
        Assert.Equal(LinkStatus.Synced, (await LinkAsync("p@example.com", ids[1])).Status);
    }

    [Fact]
    public async Task Run_MergedPersonAccount_FollowsMasterRecord()
    {
        // Arrange
        var email = "merged.person@example.com";
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount(email), SandboxRecord.PersonAccount(email)], Ct);
        await sandbox.Control.MergeAsync(ids[1], [ids[0]], Ct);

        // Act
        await PostAsync(new { id = "evt-pa-merged", email, salesforceId = ids[0] });
        await DrainPushAsync();

        // Assert
        Assert.True((await sandbox.Control.GetRecordAsync(ids[1], Ct))["PersonHasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.Equal(LinkStatus.Dead, (await LinkAsync(email, ids[0])).Status);
        Assert.Equal((LinkStatus.Synced, "redirect"), ((await LinkAsync(email, ids[1])).Status, (await LinkAsync(email, ids[1])).LinkedFrom));
    }

    [Fact]
    public async Task Run_AccountIdInOrgWithoutPersonAccounts_BlocksWithAReadableReasonAndCompletes()
    {
        // Arrange: an org that never enabled Person Accounts; the Account exists, as a business account would.
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { PersonAccountsEnabled = false }, Ct);
        var email = "business@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([new SandboxRecord("Account")], Ct))[0];

        // Act
        var status = await PostAsync(new { id = "evt-no-pa", email, salesforceId = id });
        var delivered = await DrainPushAsync();

        // Assert: accepted, one delivery (completed, not retried towards poison), blocked with the reason, nothing sent to Account.
        Assert.Equal(202, status);
        Assert.Equal(1, delivered);
        var link = await LinkAsync(email, id);
        Assert.Equal((LinkStatus.Blocked, SalesforceWriter.NoPersonAccountsCode), (link.Status, link.LastErrorCode));
        Assert.Equal(
            "the record is an Account (001) but the org has no Person Accounts (the describe of Account shows no PersonEmail or IsPersonAccount field); link the address to its Contact or Lead instead",
            link.LastErrorMessage);
        Assert.Equal(0, (await sandbox.Control.GetStatsAsync(Ct)).Sobject);
    }

    [Fact]
    public async Task Run_PersonAccountsSwitchedOff_BlocksAccountIdsWithoutDescribingAccount()
    {
        // Arrange
        Rebuild(new Dictionary<string, string?> { ["Sync:PersonAccounts"] = "Off" });
        var email = "off@example.com";
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount(email)], Ct))[0];

        // Act
        await PostAsync(new { id = "evt-pa-off", email, salesforceId = id });
        await DrainPushAsync();

        // Assert
        var link = await LinkAsync(email, id);
        Assert.Equal((LinkStatus.Blocked, SalesforceWriter.NoPersonAccountsCode), (link.Status, link.LastErrorCode));
        Assert.Contains("Sync__PersonAccounts=Off", link.LastErrorMessage, StringComparison.Ordinal);
        Assert.False((await sandbox.Control.GetRecordAsync(id, Ct))["PersonHasOptedOutOfEmail"]!.GetValue<bool>());
    }
}
