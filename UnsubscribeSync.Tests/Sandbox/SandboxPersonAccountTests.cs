using System.Net;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

/// <summary>Person Accounts in the sandbox, over real HTTP, as an org with them (and one without) shows them.</summary>
public sealed class SandboxPersonAccountTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private const string PersonCustom = "MSC__Marketo_Sales_Opt_Out__pc";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task<List<string>> FieldNamesAsync(HttpClient http)
    {
        using var response = await http.GetAsync($"{SandboxHttp.Api}/sobjects/Account/describe", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.JsonAsync())["fields"]!.AsArray().Select(f => f!["name"]!.GetValue<string>())];
    }

    [Fact]
    public async Task Describe_Account_ShowsThePersonFieldsAndTheCustomFieldAsPc()
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.GetAsync($"{SandboxHttp.Api}/sobjects/Account/describe", Ct);
        var describe = await response.JsonAsync();

        // Assert
        Assert.Equal(("Account", "001"), (describe["name"]!.GetValue<string>(), describe["keyPrefix"]!.GetValue<string>()));
        var fields = describe["fields"]!.AsArray().ToDictionary(f => f!["name"]!.GetValue<string>(), f => f!);
        Assert.Superset(new HashSet<string> { "IsPersonAccount", "PersonEmail", "PersonHasOptedOutOfEmail", PersonCustom, "MasterRecordId", "IsDeleted" }, fields.Keys.ToHashSet());
        Assert.Equal(("boolean", true, true), (fields[PersonCustom]["type"]!.GetValue<string>(), fields[PersonCustom]["custom"]!.GetValue<bool>(), fields[PersonCustom]["updateable"]!.GetValue<bool>()));
        Assert.Equal("Marketo Sales Opt Out", fields[PersonCustom]["label"]!.GetValue<string>());
        Assert.False(fields["IsPersonAccount"]["updateable"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Describe_OrgWithoutPersonAccounts_ShowsAccountWithoutPersonFields()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { PersonAccountsEnabled = false }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        var fields = await FieldNamesAsync(http);
        using var query = await http.QueryAsync("SELECT Id, PersonEmail FROM Account WHERE IsPersonAccount = true");

        // Assert
        Assert.Contains("Name", fields);
        Assert.DoesNotContain("PersonEmail", fields);
        Assert.DoesNotContain("IsPersonAccount", fields);
        Assert.DoesNotContain(PersonCustom, fields);
        Assert.Equal(HttpStatusCode.BadRequest, query.StatusCode);
        Assert.Equal("INVALID_FIELD", await query.ErrorCodeAsync());
    }

    [Fact]
    public async Task Query_PersonAccounts_FiltersByIsPersonAccountAndPersonEmail()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync(
        [
            SandboxRecord.PersonAccount("pat@example.com", optedOut: true),
            SandboxRecord.PersonAccount("sam@example.com"),
            new SandboxRecord("Account", Fields: new Dictionary<string, object?> { ["IsPersonAccount"] = false, ["Name"] = "Acme" }),
            SandboxRecord.Contact("pat@example.com"),
        ], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var all = await http.QueryAsync("SELECT Id, PersonEmail, PersonHasOptedOutOfEmail FROM Account WHERE IsPersonAccount = true ORDER BY PersonEmail");
        using var byEmail = await http.QueryAsync("SELECT Id, PersonEmail FROM Account WHERE PersonEmail IN ('PAT@example.com') AND IsPersonAccount = true");

        // Assert
        var records = (await all.JsonAsync())["records"]!.AsArray();
        Assert.Equal(["pat@example.com", "sam@example.com"], records.Select(r => r!["PersonEmail"]!.GetValue<string>()));
        Assert.Equal([true, false], records.Select(r => r!["PersonHasOptedOutOfEmail"]!.GetValue<bool>()));
        Assert.Equal("Account", records[0]!["attributes"]!["type"]!.GetValue<string>());
        Assert.Single((await byEmail.JsonAsync())["records"]!.AsArray());
    }

    [Fact]
    public async Task Patch_PersonAccount_WritesBothOptOutFieldsAndBumpsSystemModstamp()
    {
        // Arrange
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount("pat@example.com")], Ct))[0];
        var before = (await sandbox.Control.GetRecordAsync(id, Ct))["SystemModstamp"]!.GetValue<string>();
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var patch = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Account/{id}", new JsonObject { ["PersonHasOptedOutOfEmail"] = true, [PersonCustom] = true });
        using var wrongField = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Account/{id}", new JsonObject { ["HasOptedOutOfEmail"] = true });

        // Assert
        Assert.Equal(HttpStatusCode.NoContent, patch.StatusCode);
        var stored = await sandbox.Control.GetRecordAsync(id, Ct);
        Assert.True(stored["PersonHasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.True(stored[PersonCustom]!.GetValue<bool>());
        Assert.NotEqual(before, stored["SystemModstamp"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, wrongField.StatusCode);
        Assert.Equal("INVALID_FIELD", await wrongField.ErrorCodeAsync());
    }

    [Fact]
    public async Task Patch_ReadOnlyCustomFieldOnContact_IsReadOnlyOnThePersonAccountToo()
    {
        // Arrange: a person's fields are its Contact's, under the Contact's field-level security.
        var id = (await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount("pat@example.com")], Ct))[0];
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldUpdateableOnContact = false }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Account/{id}", new JsonObject { [PersonCustom] = true });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_FIELD_FOR_INSERT_UPDATE", await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task Collections_MixedContactAndPersonAccount_UpdatesEachWithItsOwnField()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("c@example.com"), SandboxRecord.PersonAccount("p@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var body = new JsonObject
        {
            ["allOrNone"] = false,
            ["records"] = new JsonArray(
                new JsonObject { ["attributes"] = new JsonObject { ["type"] = "Contact" }, ["id"] = ids[0], ["HasOptedOutOfEmail"] = true },
                new JsonObject { ["attributes"] = new JsonObject { ["type"] = "Account" }, ["id"] = ids[1], ["PersonHasOptedOutOfEmail"] = true },
                new JsonObject { ["attributes"] = new JsonObject { ["type"] = "Account" }, ["id"] = ids[0], ["PersonHasOptedOutOfEmail"] = true }),
        };

        // Act
        using var response = await http.PatchAsync($"{SandboxHttp.Api}/composite/sobjects", body);

        // Assert
        var results = (await response.JsonAsync()).AsArray();
        Assert.Equal([true, true, false], results.Select(r => r!["success"]!.GetValue<bool>()));
        Assert.Equal("MALFORMED_ID", results[2]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.True((await sandbox.Control.GetRecordAsync(ids[1], Ct))["PersonHasOptedOutOfEmail"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Merge_PersonAccounts_LeavesTheLoserDeletedWithMasterRecordIdForQueryAll()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.PersonAccount("keep@example.com"), SandboxRecord.PersonAccount("lose@example.com")], Ct);
        await sandbox.Control.MergeAsync(ids[0], [ids[1]], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var patch = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Account/{ids[1]}", new JsonObject { ["PersonHasOptedOutOfEmail"] = true });
        using var query = await http.QueryAsync($"SELECT Id FROM Account WHERE Id = '{ids[1]}'");
        using var queryAll = await http.QueryAsync($"SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE Id = '{ids[1]}'", "queryAll");

        // Assert
        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        Assert.Equal("ENTITY_IS_DELETED", await patch.ErrorCodeAsync());
        Assert.Empty((await query.JsonAsync())["records"]!.AsArray());
        var row = Assert.Single((await queryAll.JsonAsync())["records"]!.AsArray())!;
        Assert.True(row["IsDeleted"]!.GetValue<bool>());
        Assert.Equal(ids[0], row["MasterRecordId"]!.GetValue<string>());
    }
}
