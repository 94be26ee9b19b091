using System.Net;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

public sealed class SandboxQueryTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task<List<string>> EmailsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.JsonAsync())["records"]!.AsArray().Select(r => r!["Email"]!.GetValue<string>())];
    }

    [Fact]
    public async Task Query_EmailWithApostrophe_MatchesEscapedLiteral()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("o'brien@example.com"), SandboxRecord.Contact("obrien@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.QueryAsync(@"SELECT Id, Email FROM Contact WHERE Email = 'O\'Brien@example.com'");

        // Assert
        Assert.Equal(["o'brien@example.com"], await EmailsAsync(response));
    }

    [Fact]
    public async Task Query_InAndOrWithParentheses_FiltersLikeSoql()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync(
        [
            SandboxRecord.Lead("a@example.com", optedOut: true), SandboxRecord.Lead("b@example.com"), SandboxRecord.Lead("c@example.com", optedOut: true),
            SandboxRecord.Lead("d@example.com", fields: new Dictionary<string, object?> { ["IsConverted"] = true }),
        ], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.QueryAsync(
            "SELECT Email FROM Lead WHERE (Email IN ('a@example.com', 'b@example.com', 'd@example.com') AND IsConverted = false) OR (HasOptedOutOfEmail = TRUE AND Email != 'a@example.com') ORDER BY Email DESC LIMIT 10");

        // Assert
        Assert.Equal(["c@example.com", "b@example.com", "a@example.com"], await EmailsAsync(response));
    }

    [Fact]
    public async Task Query_DatetimeLiteral_ComparesSystemModstamp()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("old@example.com"), SandboxRecord.Contact("new@example.com")], Ct);
        await sandbox.Control.UpdateRecordAsAdminAsync(ids[0], new Dictionary<string, object> { ["SystemModstamp"] = "2020-01-01T00:00:00.000+0000" }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var after = await http.QueryAsync("SELECT Email, SystemModstamp FROM Contact WHERE SystemModstamp > 2024-01-01T00:00:00Z ORDER BY SystemModstamp");
        using var before = await http.QueryAsync("SELECT Email FROM Contact WHERE SystemModstamp <= 2020-01-01T01:00:00+01:00");

        // Assert
        Assert.Equal(["new@example.com"], await EmailsAsync(after));
        Assert.Equal(["old@example.com"], await EmailsAsync(before));
    }

    [Fact]
    public async Task Query_EscapeSequences_DecodedAndUnknownEscapeRejected()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("back\\slash\"q@example.com"), SandboxRecord.Contact("tab\t@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var backslash = await http.QueryAsync(@"SELECT Email FROM Contact WHERE Email = 'back\\slash\""q@example.com'");
        using var unicode = await http.QueryAsync(@"SELECT Email FROM Contact WHERE Email = 'tab\u0009@example.com' OR Email = 'x\n'");
        using var invalid = await http.QueryAsync(@"SELECT Email FROM Contact WHERE Email = 'bad\q@example.com'");

        // Assert
        Assert.Equal(["back\\slash\"q@example.com"], await EmailsAsync(backslash));
        Assert.Equal(["tab\t@example.com"], await EmailsAsync(unicode));
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("MALFORMED_QUERY", await invalid.ErrorCodeAsync());
    }

    [Theory]
    [InlineData("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY")]
    [InlineData("SELECT Id FROM Contact WHERE Email = 'a' AND Email = 'b' OR Email = 'c'", "MALFORMED_QUERY")]
    [InlineData("SELECT Id FROM Contact WHERE Email = 'unterminated", "MALFORMED_QUERY")]
    [InlineData("SELECT Id, Nope__c FROM Contact", "INVALID_FIELD")]
    [InlineData("SELECT Id FROM Contact WHERE HasOptedOutOfEmail = 'true'", "INVALID_FIELD")]
    [InlineData("SELECT Id FROM Opportunity", "INVALID_TYPE")]
    public async Task Query_InvalidSoql_Returns400WithSalesforceCode(string soql, string errorCode)
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.QueryAsync(soql);

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(errorCode, await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task Query_MoreRowsThanBatchSize_PagesThroughNextRecordsUrl()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 450).Select(i => SandboxRecord.Contact($"p{i:000}@example.com")), Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var seen = new List<string>();

        // Act
        using var first = await http.QueryAsync("SELECT Id, Email FROM Contact ORDER BY Email", batchSize: "200");
        var page = await first.JsonAsync();
        var pages = 1;
        seen.AddRange(page["records"]!.AsArray().Select(r => r!["Email"]!.GetValue<string>()));
        while (!page["done"]!.GetValue<bool>())
        {
            var next = page["nextRecordsUrl"]!.GetValue<string>();
            Assert.Matches(@"^/services/data/v64\.0/query/01g[0-9A-Za-z]{15}-\d+$", next);
            using var response = await http.GetAsync(next, Ct);
            page = await response.JsonAsync();
            Assert.Equal(450, page["totalSize"]!.GetValue<int>());
            seen.AddRange(page["records"]!.AsArray().Select(r => r!["Email"]!.GetValue<string>()));
            pages++;
        }

        // Assert
        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Range(0, 450).Select(i => $"p{i:000}@example.com"), seen);
        Assert.Equal(3, (await sandbox.Control.GetStatsAsync(Ct)).Query);
    }

    [Fact]
    public async Task Query_DefaultPageSizeSetting_UsedWithoutHeader()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 250).Select(i => SandboxRecord.Lead($"d{i}@example.com")), Ct);
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DefaultPageSize = 200 }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.QueryAsync("SELECT Id FROM Lead");

        // Assert
        var page = await response.JsonAsync();
        Assert.Equal(250, page["totalSize"]!.GetValue<int>());
        Assert.False(page["done"]!.GetValue<bool>());
        Assert.Equal(200, page["records"]!.AsArray().Count);
        Assert.EndsWith("-200", page["nextRecordsUrl"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryAll_MergedRecord_IncludedOnlyByQueryAll()
    {
        // Arrange
        var ids = await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("keep@example.com"), SandboxRecord.Contact("gone@example.com")], Ct);
        await sandbox.Control.MergeAsync(ids[0], [ids[1]], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);
        const string Soql = "SELECT Id, Email, IsDeleted, MasterRecordId FROM Contact ORDER BY Email";

        // Act
        using var query = await http.QueryAsync(Soql);
        using var queryAll = await http.QueryAsync(Soql, resource: "queryAll");

        // Assert
        Assert.Equal(["keep@example.com"], await EmailsAsync(query));
        var all = (await queryAll.JsonAsync())["records"]!.AsArray();
        Assert.Equal(2, all.Count);
        Assert.True(all[0]!["IsDeleted"]!.GetValue<bool>());
        Assert.Equal(ids[0], all[0]!["MasterRecordId"]!.GetValue<string>());
        Assert.Equal($"/services/data/v64.0/sobjects/Contact/{ids[1]}", all[0]!["attributes"]!["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task QueryAll_Paged_NextRecordsUrlSaysQuery()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync(Enumerable.Range(0, 201).Select(i => SandboxRecord.Contact($"q{i}@example.com", fields: new Dictionary<string, object?> { ["IsDeleted"] = true })), Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var first = await http.QueryAsync("SELECT Id FROM Contact", resource: "queryAll", batchSize: "200");
        var next = (await first.JsonAsync())["nextRecordsUrl"]!.GetValue<string>();
        using var second = await http.GetAsync(next, Ct);

        // Assert
        Assert.Contains("/query/", next, StringComparison.Ordinal);
        var page = await second.JsonAsync();
        Assert.True(page["done"]!.GetValue<bool>());
        Assert.Single(page["records"]!.AsArray());
    }

    [Fact]
    public async Task Query_UrlLongerThan16KB_Returns414()
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);
        var emails = string.Join(", ", Enumerable.Range(0, 700).Select(i => $"'someone{i}@example.com'"));

        // Act
        using var response = await http.QueryAsync($"SELECT Id FROM Contact WHERE Email IN ({emails})");

        // Assert
        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
    }

    [Fact]
    public async Task Query_Count_ReturnsTotalSizeOnly()
    {
        // Arrange
        await sandbox.Control.CreateRecordsAsync([SandboxRecord.Contact("c1@example.com"), SandboxRecord.Contact("c2@example.com")], Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.QueryAsync("SELECT COUNT() FROM Contact WHERE Email LIKE 'c%'");

        // Assert
        var body = await response.JsonAsync();
        Assert.Equal(2, body["totalSize"]!.GetValue<int>());
        Assert.Empty(body["records"]!.AsArray());
    }
}
