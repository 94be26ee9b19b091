using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

public sealed class SandboxControlTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Describe_CustomFieldPresent_ListsItAsUpdateableCustomBoolean()
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.GetAsync($"{SandboxHttp.Api}/sobjects/Contact/describe", Ct);

        // Assert
        var describe = await response.JsonAsync();
        Assert.Equal("Contact", describe["name"]!.GetValue<string>());
        Assert.Equal("003", describe["keyPrefix"]!.GetValue<string>());
        var fields = describe["fields"]!.AsArray();
        var optOut = fields.Single(f => f!["name"]!.GetValue<string>() == "HasOptedOutOfEmail")!;
        Assert.Equal("Email Opt Out", optOut["label"]!.GetValue<string>());
        Assert.Equal("xsd:boolean", optOut["soapType"]!.GetValue<string>());
        var custom = fields.Single(f => f!["label"]!.GetValue<string>() == "Marketo Sales Opt Out")!;
        Assert.Equal(sandbox.CustomOptOutField, custom["name"]!.GetValue<string>());
        Assert.Equal("boolean", custom["type"]!.GetValue<string>());
        Assert.True(custom["custom"]!.GetValue<bool>());
        Assert.True(custom["updateable"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Describe_CustomFieldAbsentOnLeadAndReadOnlyOnContact_ReflectsSettings()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnLead = false, CustomFieldUpdateableOnContact = false }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var lead = await http.GetAsync($"{SandboxHttp.Api}/sobjects/Lead/describe", Ct);
        using var contact = await http.GetAsync($"{SandboxHttp.Api}/sobjects/Contact/describe", Ct);

        // Assert
        var leadFields = (await lead.JsonAsync())["fields"]!.AsArray();
        Assert.DoesNotContain(leadFields, f => f!["name"]!.GetValue<string>() == sandbox.CustomOptOutField);
        Assert.Contains(leadFields, f => f!["name"]!.GetValue<string>() == "ConvertedContactId");
        var custom = (await contact.JsonAsync())["fields"]!.AsArray().Single(f => f!["name"]!.GetValue<string>() == sandbox.CustomOptOutField)!;
        Assert.False(custom["updateable"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Faults_WithCount_FireThatManyTimesThenStop()
    {
        // Arrange
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("query", 503, "SERVER_UNAVAILABLE", "server too busy", Count: 2));
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var first = await http.QueryAsync("SELECT Id FROM Contact");
        using var second = await http.QueryAsync("SELECT Id FROM Contact");
        using var third = await http.QueryAsync("SELECT Id FROM Contact");

        // Assert
        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Equal("""[{"message":"server too busy","errorCode":"SERVER_UNAVAILABLE","fields":[]}]""", await first.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task Faults_RecordIdOnSobject_FailsOnlyThatRecordUntilCleared()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("f1@example.com"), SandboxRecord.Contact("f2@example.com")], Ct);
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("sobject", 500, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", RecordId: ids[0][..15]));
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var body = new JsonObject { ["HasOptedOutOfEmail"] = true };

        // Act
        using var locked = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{ids[0]}", body);
        using var other = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{ids[1]}", body.DeepClone());
        await sandbox.Control.ClearFaultsAsync(Ct);
        using var afterClear = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{ids[0]}", body.DeepClone());

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, locked.StatusCode);
        Assert.Equal("UNABLE_TO_LOCK_ROW", await locked.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.NoContent, other.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, afterClear.StatusCode);
    }

    [Fact]
    public async Task Faults_TokenMatch_AnswersOAuthErrorShape()
    {
        // Arrange
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("token", 400, "invalid_grant", "inactive user", Count: 1));

        // Act
        var failure = await Assert.ThrowsAsync<HttpRequestException>(() => sandbox.GetAccessTokenAsync(Ct));
        var token = await sandbox.GetAccessTokenAsync(Ct);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, failure.StatusCode);
        Assert.NotEmpty(token);
    }

    [Fact]
    public async Task Latency_Set_DelaysApiCalls()
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);
        await sandbox.Control.SetLatencyAsync(150, Ct);
        var watch = Stopwatch.StartNew();

        // Act
        using var response = await http.GetAsync($"{SandboxHttp.Api}/limits", Ct);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(watch.ElapsedMilliseconds >= 140, $"took {watch.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Stats_AfterMixedCalls_CountsEachKindAndNotControlCalls()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("s@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        (await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{ids[0]}", new JsonObject { ["HasOptedOutOfEmail"] = true })).Dispose();
        (await http.PatchAsync($"{SandboxHttp.Api}/composite/sobjects", new JsonObject { ["records"] = new JsonArray() })).Dispose();
        (await http.QueryAsync("SELECT Id FROM Contact")).Dispose();
        (await http.GetAsync($"{SandboxHttp.Api}/sobjects/Lead/describe", Ct)).Dispose();
        (await http.GetAsync($"{SandboxHttp.Api}/limits", Ct)).Dispose();
        (await http.GetAsync("/services/data", Ct)).Dispose();
        await sandbox.Control.GetRecordAsync(ids[0], Ct);
        var stats = await sandbox.Control.GetStatsAsync(Ct);

        // Assert
        Assert.Equal(new SandboxStats(Token: 1, Sobject: 1, Composite: 1, Query: 1, Describe: 1, Limits: 1, Versions: 1, Other: 0, Total: 7), stats);
    }

    [Fact]
    public async Task CreateRecords_Given18CharIdsAndFields_StoresThemAsGiven()
    {
        // Arrange
        var contact = new SandboxRecord("Contact", "given@example.com", Id: "003RO0000035WQg", Fields: new Dictionary<string, object?>
        {
            ["FirstName"] = "Ada",
            [sandbox.CustomOptOutField] = true,
        });

        // Act
        var ids = await sandbox.Control.CreateRecordsAsync([contact, SandboxRecord.Lead()], Ct);

        // Assert
        Assert.Equal("003RO0000035WQgYAM", ids[0]);
        Assert.Matches("^00Q[0-9A-Za-z]{15}$", ids[1]);
        var stored = await sandbox.Control.GetRecordAsync(ids[0], Ct);
        Assert.Equal("Ada", stored["FirstName"]!.GetValue<string>());
        Assert.True(stored[sandbox.CustomOptOutField]!.GetValue<bool>());
        Assert.False(stored["IsDeleted"]!.GetValue<bool>());
    }

    [Fact]
    public async Task CreateRecords_HundredThousandInOneCall_CompletesInSeconds()
    {
        // Arrange
        var records = Enumerable.Range(0, 100_000).Select(i => i % 2 == 0
            ? SandboxRecord.Contact($"bulk{i}@example.com", optedOut: i % 10 == 0)
            : SandboxRecord.Lead($"bulk{i}@example.com"));
        var watch = Stopwatch.StartNew();

        // Act
        var ids = await sandbox.Control.CreateRecordsAsync(records, Ct);
        watch.Stop();

        // Assert
        TestContext.Current.SendDiagnosticMessage($"Created 100,000 sandbox records in {watch.ElapsedMilliseconds} ms");
        Assert.Equal(100_000, ids.Count);
        Assert.Equal(100_000, ids.Distinct().Count());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
        using var http = await SandboxHttp.ClientAsync(sandbox);
        using var count = await http.QueryAsync("SELECT COUNT() FROM Contact WHERE HasOptedOutOfEmail = true");
        Assert.Equal(10_000, (await count.JsonAsync())["totalSize"]!.GetValue<int>());
    }
}
