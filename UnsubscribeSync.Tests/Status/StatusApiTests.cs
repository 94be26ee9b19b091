using System.Text.Json.Nodes;
using Azure.Storage.Queues;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Status;

/// <summary><c>GET /api/status</c> end to end: the function class over the real composition root, Azurite and the Salesforce sandbox; each check seen passing and failing.</summary>
public sealed class StatusApiTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Run_HealthyDeployment_EveryCheckPassesAndCountsAreReported()
    {
        // Arrange: a counted ledger with every link synced, a nightly run that completed an hour ago.
        await using var app = await StatusApp.CreateAsync(sandbox);
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(3, 2);
        await app.CountLedgerAsync();
        await app.SeedRunAsync(now.AddHours(-1), new SyncCounters { RecordsRead = 120, Written = 7, Deferred = 1, ApiCalls = 9 });

        // Act
        var outcome = await app.GetStatusAsync();

        // Assert
        Assert.Equal(200, outcome.Status);
        Assert.Equal("no-store", outcome.Headers.CacheControl.ToString());
        var json = outcome.Json;
        Assert.Equal("pass", json["overall"]!.GetValue<string>());
        Assert.Equal(
            ["storage", "nightly-sync-enabled", "nightly-sync-ran", "salesforce-sign-in", "opt-out-field", "salesforce-id"],
            json["checks"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.All(json["checks"]!.AsArray(), c => Assert.Equal("pass", c!["status"]!.GetValue<string>()));
        Assert.Equal("Opt-outs are written to Contact.HasOptedOutOfEmail, Lead.HasOptedOutOfEmail, Account.PersonHasOptedOutOfEmail (person accounts): each exists, is a checkbox and is updateable.",
            Check(json, "opt-out-field")["message"]!.GetValue<string>());
        Assert.Equal(6, json["ledger"]!["links"]!["synced"]!.GetValue<long>());
        Assert.Equal(3, json["ledger"]!["addresses"]!.GetValue<long>());
        Assert.Null(json["ledger"]!["oldestOwedSince"]);
        var run = Assert.Single(json["nightly"]!["runs"]!.AsArray())!;
        Assert.Equal((120, 7, 1, 9), (run["recordsRead"]!.GetValue<int>(), run["written"]!.GetValue<int>(), run["deferred"]!.GetValue<int>(), run["apiCalls"]!.GetValue<int>()));
        Assert.Equal(75, json["apiUsage"]!["budgetPercent"]!.GetValue<int>());
        Assert.NotNull(json["apiUsage"]!["used"]);
    }

    [Theory]
    [InlineData(true, "Opt-out field writable on Contact, Lead and Account")]
    [InlineData(false, "Opt-out field writable on Contact and Lead")]
    public async Task Run_PersonAccountsOnOrOffInTheOrg_OptOutFieldCheckCoversAccountOnlyWherePresent(bool personAccounts, string title)
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { PersonAccountsEnabled = personAccounts }, Ct);
        await using var app = await StatusApp.CreateAsync(sandbox);

        // Act
        var check = Check((await app.GetStatusAsync()).Json, "opt-out-field");

        // Assert
        Assert.Equal("pass", check["status"]!.GetValue<string>());
        Assert.Equal(title, check["title"]!.GetValue<string>());
        Assert.Equal(personAccounts, check["message"]!.GetValue<string>().Contains("Account.PersonHasOptedOutOfEmail (person accounts)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_PersonAccountsRequiredButOrgHasNone_OptOutFieldCheckFails()
    {
        // Arrange: Sync__PersonAccounts=On makes their absence a field problem.
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { PersonAccountsEnabled = false }, Ct);
        await using var app = await StatusApp.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:PersonAccounts"] = "On" });

        // Act
        var check = Check((await app.GetStatusAsync()).Json, "opt-out-field");

        // Assert
        Assert.Equal("fail", check["status"]!.GetValue<string>());
        Assert.Contains("Account", check["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_CustomFieldMissingOnLead_OptOutFieldCheckFailsNamingLead()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnLead = false }, Ct);
        await using var app = await StatusApp.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:TargetField"] = "MarketoSalesOptOut" });

        // Act
        var json = (await app.GetStatusAsync()).Json;

        // Assert
        var check = Check(json, "opt-out-field");
        Assert.Equal("fail", check["status"]!.GetValue<string>());
        Assert.Equal("field Marketo Sales Opt Out not found on Lead: install the package or set Sync__MarketoSalesOptOutField.", check["message"]!.GetValue<string>());
        Assert.Equal("fail", json["overall"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_CustomFieldReadOnlyOnContact_OptOutFieldCheckFailsNamingFieldLevelSecurity()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldUpdateableOnContact = false }, Ct);
        await using var app = await StatusApp.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:TargetField"] = "MarketoSalesOptOut" });

        // Act
        var check = Check((await app.GetStatusAsync()).Json, "opt-out-field");

        // Assert
        Assert.Equal("fail", check["status"]!.GetValue<string>());
        Assert.Contains("read-only for the integration user", check["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_WrongClientSecret_SignInFailsNamingTheSettingAndFieldIsNotChecked()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox, new Dictionary<string, string?> { ["Salesforce:ClientSecret"] = "not-the-secret" });

        // Act
        var json = (await app.GetStatusAsync()).Json;

        // Assert
        var signIn = Check(json, "salesforce-sign-in");
        Assert.Equal("fail", signIn["status"]!.GetValue<string>());
        Assert.Contains("Salesforce__ClientSecret", signIn["message"]!.GetValue<string>());
        Assert.Equal("warn", Check(json, "opt-out-field")["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_NightlySyncSwitchedOff_EnabledCheckFailsAndRanCheckIsLeftOut()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox, new Dictionary<string, string?> { ["Sync:NightlyEnabled"] = "false" });

        // Act
        var json = (await app.GetStatusAsync()).Json;

        // Assert
        var check = Check(json, "nightly-sync-enabled");
        Assert.Equal("fail", check["status"]!.GetValue<string>());
        Assert.Contains("Sync__NightlyEnabled=true", check["message"]!.GetValue<string>());
        Assert.DoesNotContain(json["checks"]!.AsArray(), c => c!["name"]!.GetValue<string>() == "nightly-sync-ran");
        Assert.False(json["nightly"]!["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Run_LastCompletedRunOlderThan26Hours_RanCheckWarns()
    {
        // Arrange: one run completed 27 hours ago, one started since that has not completed.
        await using var app = await StatusApp.CreateAsync(sandbox);
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedRunAsync(now.AddHours(-27), new SyncCounters());
        await app.SeedRunAsync(now.AddHours(-3), new SyncCounters(), completed: false);

        // Act
        var json = (await app.GetStatusAsync()).Json;

        // Assert
        var check = Check(json, "nightly-sync-ran");
        Assert.Equal("warn", check["status"]!.GetValue<string>());
        Assert.Contains("No nightly run completed in the last 26 hours", check["message"]!.GetValue<string>());
        Assert.Equal(2, json["nightly"]!["runs"]!.AsArray().Count);
    }

    [Fact]
    public async Task Run_AddressesAwaitingAnId_WarnsWithCountAndShare()
    {
        // Arrange: 1 of 4 addresses has no Salesforce record.
        await using var app = await StatusApp.CreateAsync(sandbox);
        await app.SeedLedgerAsync(3, 1);
        var table = app.Storage.Clients.Tables.GetTableClient(app.Storage.Names.LedgerTable);
        await table.AddEntityAsync(new ConsentStateEntity { PartitionKey = Functions.Shared.EmailAddress.KeyOf("noid@example.com"), Email = "noid@example.com", AwaitingSalesforceId = true }, Ct);
        await app.CountLedgerAsync();

        // Act
        var json = (await app.GetStatusAsync()).Json;

        // Assert
        var check = Check(json, "salesforce-id");
        Assert.Equal("warn", check["status"]!.GetValue<string>());
        Assert.StartsWith("1 of 4 addresses (25.0%) await a Salesforce Id", check["message"]!.GetValue<string>());
        Assert.Contains("Sync__ResolveByEmail=true", check["message"]!.GetValue<string>());
        Assert.Equal(0.25, json["ledger"]!["awaitingSalesforceIdShare"]!.GetValue<double>());
    }

    [Fact]
    public async Task Run_BeforeTheFirstCount_SalesforceIdCheckWarnsNotCounted()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);

        // Act
        var json = (await app.GetStatusAsync()).Json;

        // Assert
        Assert.StartsWith("Not counted yet", Check(json, "salesforce-id")["message"]!.GetValue<string>());
        Assert.Null(json["ledger"]);
    }

    [Fact]
    public async Task Run_FailedBlockedAndQueuedWork_CountsByCodeProblemAndQueue()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);
        var now = app.Storage.Time.GetUtcNow();
        await app.SeedLedgerAsync(1, 4, (i, link) =>
        {
            if (i == 0)
            {
                link.MarkFailed("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Validation rule", attempted: true, now);
            }
            else if (i == 1)
            {
                link.MarkBlocked("OPT_OUT_FIELD_UNUSABLE", "field X__c on Lead is read-only", attempted: false, now);
            }
            else if (i == 2)
            {
                link.Request(true, "evt-x", now.AddHours(-5));
            }
        });
        await app.CountLedgerAsync();
        var poison = new QueueClient(app.Storage.ConnectionString, app.Storage.Names.PushPoisonQueue, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await poison.CreateIfNotExistsAsync(cancellationToken: Ct);
        await poison.SendMessageAsync("{}", Ct);
        await poison.SendMessageAsync("{}", Ct);

        // Act
        var json = (await app.GetStatusAsync()).Json;

        // Assert
        var links = json["ledger"]!["links"]!;
        Assert.Equal(1, links["failedByCode"]!["FIELD_CUSTOM_VALIDATION_EXCEPTION"]!.GetValue<long>());
        Assert.Equal(1, links["blockedByProblem"]!["field X__c on Lead is read-only"]!.GetValue<long>());
        Assert.Equal((1L, 1L), (links["pending"]!.GetValue<long>(), links["synced"]!.GetValue<long>()));
        Assert.Equal(5.0, json["ledger"]!["oldestOwedAgeHours"]!.GetValue<double>());
        Assert.Equal(2, json["queues"]!["pushPoison"]!.GetValue<long>());
        Assert.Equal(0, json["queues"]!["push"]!.GetValue<long>());
    }

    [Fact]
    public async Task Run_UsageAboveTheBudget_ReportsBudgetReached()
    {
        // Arrange: the describe of the field check carries Sforce-Limit-Info.
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 1000, ApiUsage = 800 }, Ct);
        await using var app = await StatusApp.CreateAsync(sandbox);

        // Act
        var usage = (await app.GetStatusAsync()).Json["apiUsage"]!;

        // Assert
        Assert.Equal(1000, usage["limit"]!.GetValue<long>());
        Assert.True(usage["percent"]!.GetValue<double>() >= 80);
        Assert.True(usage["budgetReached"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Run_StorageUnreachable_StorageCheckFailsAndTheRestStillAnswers()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox, connectionString: TestStorage.UnreachableConnectionString);

        // Act
        var outcome = await app.GetStatusAsync();

        // Assert
        Assert.Equal(200, outcome.Status);
        var check = Check(outcome.Json, "storage");
        Assert.Equal("fail", check["status"]!.GetValue<string>());
        Assert.Contains("AzureWebJobsStorage", check["message"]!.GetValue<string>());
        Assert.Equal("pass", Check(outcome.Json, "salesforce-sign-in")["status"]!.GetValue<string>());
        Assert.Null(outcome.Json["queues"]);
    }

    [Theory]
    [InlineData(null, 401)]
    [InlineData("wrong-key-wrong-key-wrong-key-wrong-key", 401)]
    public async Task Run_WithoutTheAdminKey_Returns401ProblemNamingTheHeader(string? key, int status)
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox);

        // Act
        var outcome = await app.GetStatusAsync(key);

        // Assert
        Assert.Equal(status, outcome.Status);
        Assert.Equal("application/problem+json", outcome.ContentType);
        Assert.Equal("urn:unsubscribesync:problem:admin-key", outcome.Json["type"]!.GetValue<string>());
        Assert.NotNull(outcome.Json["errors"]!["X-Admin-Key"]);
    }

    [Fact]
    public async Task Run_AdminKeyNotConfigured_Returns404Disabled()
    {
        // Arrange
        await using var app = await StatusApp.CreateAsync(sandbox, new Dictionary<string, string?> { ["Admin:ApiKey"] = null });

        // Act
        var outcome = await app.GetStatusAsync();

        // Assert
        Assert.Equal(404, outcome.Status);
        Assert.Equal("urn:unsubscribesync:problem:admin-api-disabled", outcome.Json["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_HundredVersusTwoThousandLinks_SameNumberOfStorageRequests()
    {
        // Arrange: two deployments, one ledger 20 times the other's, both counted.
        await using var small = await StatusApp.CreateAsync(sandbox);
        await using var large = await StatusApp.CreateAsync(sandbox);
        await small.SeedLedgerAsync(1, 100);
        await large.SeedLedgerAsync(20, 100);
        await small.CountLedgerAsync();
        await large.CountLedgerAsync();
        await small.GetStatusAsync();
        await large.GetStatusAsync();
        small.Requests.Reset();
        large.Requests.Reset();

        // Act
        var smallJson = (await small.GetStatusAsync()).Json;
        var largeJson = (await large.GetStatusAsync()).Json;

        // Assert: one census row, one SyncRuns query page, four queue reads, whatever the ledger holds.
        Assert.Equal(100, smallJson["ledger"]!["links"]!["synced"]!.GetValue<long>());
        Assert.Equal(2000, largeJson["ledger"]!["links"]!["synced"]!.GetValue<long>());
        Assert.Equal(6, small.Requests.Count);
        Assert.Equal(small.Requests.Count, large.Requests.Count);
    }

    private static JsonNode Check(JsonNode json, string name) =>
        json["checks"]!.AsArray().Single(c => c!["name"]!.GetValue<string>() == name)!;
}
