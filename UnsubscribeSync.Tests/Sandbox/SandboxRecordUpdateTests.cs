using System.Net;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

public sealed class SandboxRecordUpdateTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task PatchSobject_SameValue_Returns204AndBumpsSystemModstamp()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("same@example.com", optedOut: true)], Ct);
        var before = await sandbox.Control.GetRecordAsync(ids[0], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{ids[0]}", new JsonObject { ["HasOptedOutOfEmail"] = true });

        // Assert
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        var after = await sandbox.Control.GetRecordAsync(ids[0], Ct);
        Assert.True(after["HasOptedOutOfEmail"]!.GetValue<bool>());
        Assert.True(string.CompareOrdinal(after["SystemModstamp"]!.GetValue<string>(), before["SystemModstamp"]!.GetValue<string>()) > 0);
        Assert.Equal(after["SystemModstamp"]!.GetValue<string>(), after["LastModifiedDate"]!.GetValue<string>());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$", after["SystemModstamp"]!.GetValue<string>());
    }

    [Fact]
    public async Task PatchSobject_FifteenCharacterId_UpdatesRecord()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead("fifteen@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Lead/{ids[0][..15]}", new JsonObject { [sandbox.CustomOptOutField] = true });

        // Assert
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.True((await sandbox.Control.GetRecordAsync(ids[0], Ct))[sandbox.CustomOptOutField]!.GetValue<bool>());
    }

    [Fact]
    public async Task PatchSobject_ConvertedLead_Returns400CannotUpdateConvertedLead()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead("conv@example.com"), SandboxRecord.Contact("conv@example.com")], Ct);
        await sandbox.Control.ConvertLeadAsync(ids[0], ids[1], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Lead/{ids[0]}", new JsonObject { ["HasOptedOutOfEmail"] = true });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.JsonAsync())[0]!;
        Assert.Equal("CANNOT_UPDATE_CONVERTED_LEAD", error["errorCode"]!.GetValue<string>());
        Assert.Equal("cannot reference converted lead", error["message"]!.GetValue<string>());
        Assert.Equal(ids[1], (await sandbox.Control.GetRecordAsync(ids[0], Ct))["ConvertedContactId"]!.GetValue<string>());
    }

    [Fact]
    public async Task PatchSobject_MergedAwayContact_Returns404EntityIsDeleted()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("master@example.com"), SandboxRecord.Contact("dupe@example.com")], Ct);
        await sandbox.Control.MergeAsync(ids[0], [ids[1]], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{ids[1]}", new JsonObject { ["HasOptedOutOfEmail"] = true });

        // Assert
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("ENTITY_IS_DELETED", await response.ErrorCodeAsync());
        var merged = await sandbox.Control.GetRecordAsync(ids[1], Ct);
        Assert.True(merged["IsDeleted"]!.GetValue<bool>());
        Assert.Equal(ids[0], merged["MasterRecordId"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Contact", "003SB00000zzzzz", HttpStatusCode.NotFound, "NOT_FOUND")]
    [InlineData("Contact", "00QSB0000000001", HttpStatusCode.BadRequest, "MALFORMED_ID")]
    [InlineData("Contact", "not-an-id", HttpStatusCode.BadRequest, "MALFORMED_ID")]
    [InlineData("Contact", "003SB0000000001YA9", HttpStatusCode.BadRequest, "MALFORMED_ID")]
    public async Task PatchSobject_BadOrUnknownId_ReturnsSalesforceError(string type, string id, HttpStatusCode status, string errorCode)
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/{type}/{id}", new JsonObject { ["HasOptedOutOfEmail"] = true });

        // Assert
        Assert.Equal(status, response.StatusCode);
        Assert.Equal(errorCode, await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task PatchSobject_CustomFieldMissingOrReadOnly_ReturnsInvalidFieldErrors()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Lead("fls@example.com"), SandboxRecord.Contact("fls@example.com")], Ct);
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { CustomFieldPresentOnLead = false, CustomFieldUpdateableOnContact = false }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var body = new JsonObject { [sandbox.CustomOptOutField] = true };

        // Act
        using var onLead = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Lead/{ids[0]}", body);
        using var onContact = await http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{ids[1]}", body.DeepClone());

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, onLead.StatusCode);
        Assert.Equal("INVALID_FIELD", await onLead.ErrorCodeAsync());
        Assert.Equal(HttpStatusCode.BadRequest, onContact.StatusCode);
        Assert.Equal("INVALID_FIELD_FOR_INSERT_UPDATE", await onContact.ErrorCodeAsync());
    }

    [Fact]
    public async Task PatchSobject_ConcurrentUpdates_GiveEveryRecordADistinctIncreasingModstamp()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 50).Select(i => SandboxRecord.Contact($"race{i}@example.com")), Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var created = (await sandbox.Control.GetRecordAsync(ids[0], Ct))["SystemModstamp"]!.GetValue<string>();

        // Act
        var responses = await Task.WhenAll(ids.Select(id => http.PatchAsync($"{SandboxHttp.Api}/sobjects/Contact/{id}", new JsonObject { ["HasOptedOutOfEmail"] = true })));

        // Assert
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.NoContent, r.StatusCode));
        var stamps = new List<string>();
        foreach (var id in ids)
        {
            stamps.Add((await sandbox.Control.GetRecordAsync(id, Ct))["SystemModstamp"]!.GetValue<string>());
        }

        Assert.Equal(ids.Count, stamps.Distinct().Count());
        Assert.All(stamps, stamp => Assert.True(string.CompareOrdinal(stamp, created) > 0));
    }
}
