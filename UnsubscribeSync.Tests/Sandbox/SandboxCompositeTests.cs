using System.Net;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

public sealed class SandboxCompositeTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private const string Composite = SandboxHttp.Api + "/composite/sobjects";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static JsonObject Entry(string type, string id, string idKey = "id") => new()
    {
        ["attributes"] = new JsonObject { ["type"] = type },
        [idKey] = id,
        ["HasOptedOutOfEmail"] = true,
    };

    [Fact]
    public async Task PatchCollection_MixedOutcomes_MapsEachResultInOrder()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync(
        [
            SandboxRecord.Contact("ok@example.com"), SandboxRecord.Lead("ok@example.com"), SandboxRecord.Lead("converted@example.com"),
            SandboxRecord.Contact("merged@example.com"),
        ], Ct);
        await sandbox.Control.ConvertLeadAsync(ids[2], ids[0], Ct);
        await sandbox.Control.MergeAsync(ids[0], [ids[3]], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var body = new JsonObject
        {
            ["allOrNone"] = false,
            ["records"] = new JsonArray(
                Entry("Contact", ids[0]), Entry("Lead", ids[1], "Id"), Entry("Lead", ids[2]), Entry("Contact", ids[3]),
                Entry("Contact", "001xx000003DGb2999"), Entry("Contact", "003SB00000zzzzz")),
        };

        // Act
        using var response = await http.PatchAsync(Composite, body);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = (await response.JsonAsync()).AsArray();
        Assert.Equal(6, results.Count);
        Assert.True(results[0]!["success"]!.GetValue<bool>());
        Assert.Equal(ids[0], results[0]!["id"]!.GetValue<string>());
        Assert.Empty(results[0]!["errors"]!.AsArray());
        Assert.True(results[1]!["success"]!.GetValue<bool>());
        Assert.Equal("CANNOT_UPDATE_CONVERTED_LEAD", results[2]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.Equal("ENTITY_IS_DELETED", results[3]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.Equal("MALFORMED_ID", results[4]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.Null(results[4]!["id"]);
        Assert.Equal("NOT_FOUND", results[5]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.True((await sandbox.Control.GetRecordAsync(ids[1], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
    }

    [Fact]
    public async Task PatchCollection_AllOrNoneWithOneFailure_RollsBackTheRest()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("a@example.com"), SandboxRecord.Contact("b@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var body = new JsonObject
        {
            ["allOrNone"] = true,
            ["records"] = new JsonArray(Entry("Contact", ids[0]), Entry("Contact", "001xx000003DGb2999"), Entry("Contact", ids[1])),
        };

        // Act
        using var response = await http.PatchAsync(Composite, body);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = (await response.JsonAsync()).AsArray();
        Assert.All(results, r => Assert.False(r!["success"]!.GetValue<bool>()));
        Assert.Equal("ALL_OR_NONE_OPERATION_ROLLED_BACK", results[0]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.Equal(ids[0], results[0]!["id"]!.GetValue<string>());
        Assert.Equal("MALFORMED_ID", results[1]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.False((await sandbox.Control.GetRecordAsync(ids[0], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.False((await sandbox.Control.GetRecordAsync(ids[1], Ct))["HasOptedOutOfEmail"]!.GetValue<bool>());
    }

    [Fact]
    public async Task PatchCollection_MoreThan200Records_Returns400ExceededIdLimit()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 201).Select(i => SandboxRecord.Contact($"c{i}@example.com")), Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var body = new JsonObject { ["records"] = new JsonArray([.. ids.Select(id => (JsonNode)Entry("Contact", id))]) };

        // Act
        using var response = await http.PatchAsync(Composite, body);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("EXCEEDED_ID_LIMIT", await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task PatchCollection_ElevenTypeChunks_Returns400()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("x@example.com"), SandboxRecord.Lead("x@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var records = new JsonArray([.. Enumerable.Range(0, 11).Select(i => (JsonNode)(i % 2 == 0 ? Entry("Contact", ids[0]) : Entry("Lead", ids[1])))]);

        // Act
        using var response = await http.PatchAsync(Composite, new JsonObject { ["records"] = records });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task PatchCollection_MalformedBody_Returns400()
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.PatchAsync(Composite, new JsonObject { ["rows"] = new JsonArray() });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("JSON_PARSER_ERROR", await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task PatchCollection_RecordFault_FailsOnlyThatRecordAndCountRunsOut()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("l1@example.com"), SandboxRecord.Contact("l2@example.com")], Ct);
        await sandbox.Control.AddFaultsAsync(Ct, new SandboxFault("composite", 400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", Count: 1, RecordId: ids[1]));
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var body = new JsonObject { ["records"] = new JsonArray(Entry("Contact", ids[0]), Entry("Contact", ids[1])) };

        // Act
        using var first = await http.PatchAsync(Composite, body);
        using var second = await http.PatchAsync(Composite, body.DeepClone());

        // Assert
        var firstResults = (await first.JsonAsync()).AsArray();
        Assert.True(firstResults[0]!["success"]!.GetValue<bool>());
        Assert.Equal("UNABLE_TO_LOCK_ROW", firstResults[1]!["errors"]![0]!["statusCode"]!.GetValue<string>());
        Assert.Equal(ids[1], firstResults[1]!["id"]!.GetValue<string>());
        Assert.All((await second.JsonAsync()).AsArray(), r => Assert.True(r!["success"]!.GetValue<bool>()));
    }
}
