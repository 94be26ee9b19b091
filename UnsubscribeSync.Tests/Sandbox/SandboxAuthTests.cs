using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

public sealed class SandboxAuthTests(SalesforceSandboxFixture sandbox) : IClassFixture<SalesforceSandboxFixture>, IAsyncLifetime
{
    private const string JwtGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => await sandbox.Control.ResetAsync(Ct);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Token_ClientCredentialsInBody_ReturnsSalesforceShapedToken()
    {
        // Arrange
        using var http = sandbox.CreateHttpClient();

        // Act
        using var response = await http.TokenAsync(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = sandbox.ClientId,
            ["client_secret"] = sandbox.ClientSecret,
        });

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json;charset=UTF-8", response.Content.Headers.ContentType!.ToString().Replace(" ", string.Empty, StringComparison.Ordinal));
        var body = (await response.JsonAsync()).AsObject();
        Assert.Equal(sandbox.BaseAddress.ToString().TrimEnd('/'), body["instance_url"]!.GetValue<string>());
        Assert.Equal("Bearer", body["token_type"]!.GetValue<string>());
        Assert.Matches(@"^\d{13}$", body["issued_at"]!.GetValue<string>());
        Assert.False(body.ContainsKey("expires_in"));
        Assert.False(body.ContainsKey("refresh_token"));
    }

    [Fact]
    public async Task Token_ClientCredentialsInBasicHeader_ReturnsToken()
    {
        // Arrange
        using var http = sandbox.CreateHttpClient();
        var basic = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{sandbox.ClientId}:{sandbox.ClientSecret}")));

        // Act
        using var response = await http.TokenAsync(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }, basic);

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull((await response.JsonAsync())["access_token"]);
    }

    [Fact]
    public async Task Token_WrongSecret_Returns400InvalidClient()
    {
        // Arrange
        using var http = sandbox.CreateHttpClient();

        // Act
        using var response = await http.TokenAsync(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = sandbox.ClientId,
            ["client_secret"] = "wrong",
        });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("invalid_client", body["error"]!.GetValue<string>());
        Assert.Equal("invalid client credentials", body["error_description"]!.GetValue<string>());
    }

    [Fact]
    public async Task Token_ValidJwtAssertion_ReturnsTokenThatWorks()
    {
        // Arrange
        using var http = sandbox.CreateHttpClient();
        var assertion = JwtAssertion.Create(sandbox.JwtPrivateKeyPem, sandbox.ClientId, sandbox.JwtUsername, "https://login.salesforce.com", DateTimeOffset.UtcNow.AddMinutes(3));

        // Act
        using var response = await http.TokenAsync(new Dictionary<string, string> { ["grant_type"] = JwtGrant, ["assertion"] = assertion });

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var token = (await response.JsonAsync())["access_token"]!.GetValue<string>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("OAuth", token);
        using var limits = await http.GetAsync($"{SandboxHttp.Api}/limits", Ct);
        Assert.Equal(HttpStatusCode.OK, limits.StatusCode);
    }

    public static TheoryData<string, string> BadAssertions => new()
    {
        { "other-key", "invalid assertion" },
        { "wrong-audience", "audience is invalid" },
        { "expired", "expired authorization code" },
        { "too-far", "expired authorization code" },
        { "wrong-user", "user hasn't approved this consumer" },
    };

    [Theory]
    [MemberData(nameof(BadAssertions))]
    public async Task Token_BadJwtAssertion_Returns400InvalidGrant(string flaw, string description)
    {
        // Arrange
        using var http = sandbox.CreateHttpClient();
        using var otherKey = RSA.Create(2048);
        var key = flaw == "other-key" ? otherKey.ExportPkcs8PrivateKeyPem() : sandbox.JwtPrivateKeyPem;
        var audience = flaw == "wrong-audience" ? "https://evil.example.com" : "https://test.salesforce.com";
        var user = flaw == "wrong-user" ? "someone@else.example" : sandbox.JwtUsername;
        var expires = flaw switch
        {
            "expired" => DateTimeOffset.UtcNow.AddMinutes(-5),
            "too-far" => DateTimeOffset.UtcNow.AddHours(1),
            _ => DateTimeOffset.UtcNow.AddMinutes(2),
        };
        var assertion = JwtAssertion.Create(key, sandbox.ClientId, user, audience, expires);

        // Act
        using var response = await http.TokenAsync(new Dictionary<string, string> { ["grant_type"] = JwtGrant, ["assertion"] = assertion });

        // Assert
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.JsonAsync();
        Assert.Equal("invalid_grant", body["error"]!.GetValue<string>());
        Assert.Equal(description, body["error_description"]!.GetValue<string>());
    }

    [Fact]
    public async Task DataCall_AfterTokensExpired_Returns401InvalidSessionId()
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);
        await sandbox.Control.ExpireAllTokensAsync(Ct);

        // Act
        using var response = await http.GetAsync($"{SandboxHttp.Api}/limits", Ct);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("""[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]""", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task DataCall_NoToken_Returns401()
    {
        // Arrange
        using var http = sandbox.CreateHttpClient();

        // Act
        using var response = await http.GetAsync($"{SandboxHttp.Api}/sobjects/Contact/describe", Ct);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("INVALID_SESSION_ID", await response.ErrorCodeAsync());
    }

    [Fact]
    public async Task DataCalls_Counted_LimitHeaderCountsUpAndLimitsResourceAgrees()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 5000, ApiUsage = 17 }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var first = await http.GetAsync($"{SandboxHttp.Api}/sobjects/Contact/describe", Ct);
        using var second = await http.GetAsync($"{SandboxHttp.Api}/limits", Ct);
        using var versions = await http.GetAsync("/services/data/", Ct);

        // Assert
        Assert.Equal("api-usage=18/5000", first.Headers.GetValues("Sforce-Limit-Info").Single());
        Assert.Equal("api-usage=19/5000", second.Headers.GetValues("Sforce-Limit-Info").Single());
        var daily = (await second.JsonAsync())["DailyApiRequests"]!;
        Assert.Equal(5000, daily["Max"]!.GetValue<int>());
        Assert.Equal(4981, daily["Remaining"]!.GetValue<int>());
        Assert.False(versions.Headers.Contains("Sforce-Limit-Info"));
        Assert.Equal("31.0", (await versions.JsonAsync())[0]!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task DataCall_DailyAllocationUsedUp_Returns403RequestLimitExceeded()
    {
        // Arrange
        await sandbox.Control.UpdateSettingsAsync(new SandboxSettingsUpdate { DailyApiLimit = 100, ApiUsage = 100 }, Ct);
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.QueryAsync("SELECT Id FROM Contact");

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("""[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]""", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("api-usage=100/100", response.Headers.GetValues("Sforce-Limit-Info").Single());
    }

    [Theory]
    [InlineData("v30.0", HttpStatusCode.Gone)]
    [InlineData("v31.0", HttpStatusCode.OK)]
    [InlineData("latest", HttpStatusCode.OK)]
    [InlineData("v99.0", HttpStatusCode.NotFound)]
    public async Task DataCall_ApiVersion_RetiredIs410(string version, HttpStatusCode expected)
    {
        // Arrange
        using var http = await SandboxHttp.ClientAsync(sandbox);

        // Act
        using var response = await http.GetAsync($"/services/data/{version}/limits", Ct);

        // Assert
        Assert.Equal(expected, response.StatusCode);
    }
}
