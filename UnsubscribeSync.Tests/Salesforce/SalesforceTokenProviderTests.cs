using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceTokenProviderTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    #region Token responses

    [Fact]
    public void ParseTokenResponse_RfMinimalShape_ReturnsTokenAndInstance()
    {
        // Arrange
        const string body = """{"id":"https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P","issued_at":"1278448832702","instance_url":"https://na1.salesforce.com","signature":"0CmxinZir53Yex7nE0TD+zMpvIWYGb/bdJh6XfOH6EQ=","access_token":"00Dx0000000BV7z!AR8AQAxo9UfVkh8AlV0Gomt9Czx9LjHnSSpwBMmbRcgKFmxOtvxjTrKW19ye6PE3Ds1eQz3z8jr3W7_VbWmEu4Q8TVGSTHxs"}""";

        // Act
        var token = SalesforceTokenProvider.ParseTokenResponse(body, Now);

        // Assert
        Assert.StartsWith("00Dx0000000BV7z!AR8AQ", token.AccessToken, StringComparison.Ordinal);
        Assert.Equal(new Uri("https://na1.salesforce.com/"), token.InstanceUrl);
        Assert.Equal(Now, token.ObtainedAt);
    }

    [Fact]
    public void ParseTokenResponse_R1HelpExample_RejectsPlaceholderInstanceUrl()
    {
        // Arrange: Salesforce Help's example, verbatim; its instance_url is the placeholder "instance_url".
        const string body = """
            {
                "access_token": "your_access_token",
                "signature": "your_signature",
                "scope": "cdp_query_api cdp_ingest_api api cdp_profile_api",
                "instance_url": "instance_url",
                "id": "https://org_domain/id/00fdg000000dfgfgs/00gfd000000fsdghjr",
                "token_type": "Bearer",
                "issued_at": "4564564565767"
            }
            """;

        // Act
        var ex = Assert.Throws<SalesforceApiException>(() => SalesforceTokenProvider.ParseTokenResponse(body, Now));

        // Assert
        Assert.Equal(SalesforceErrorKind.Authentication, ex.Kind);
        Assert.Contains("instance_url", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseTokenResponse_R1WithRealInstanceUrl_ReadsAllFieldsItNeeds()
    {
        // Arrange
        var body = """
            {
                "access_token": "your_access_token",
                "signature": "your_signature",
                "scope": "cdp_query_api cdp_ingest_api api cdp_profile_api",
                "instance_url": "https://instance_name.my.salesforce.com",
                "id": "https://org_domain/id/00fdg000000dfgfgs/00gfd000000fsdghjr",
                "token_type": "Bearer",
                "issued_at": "4564564565767",
                "token_format": "opaque",
                "api_instance_url": "https://api.salesforce.com"
            }
            """;

        // Act
        var token = SalesforceTokenProvider.ParseTokenResponse(body, Now);

        // Assert
        Assert.Equal("your_access_token", token.AccessToken);
        Assert.Equal("instance_name.my.salesforce.com", token.InstanceUrl.Host);
        Assert.DoesNotContain("your_access_token", token.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"instance_url":"https://na1.salesforce.com"}""")]
    [InlineData("""{"access_token":"t","instance_url":"http://na1.salesforce.com"}""")]
    [InlineData("<html>login</html>")]
    public void ParseTokenResponse_Unusable_ThrowsAuthentication(string body)
    {
        // Arrange
        // Act
        var ex = Assert.Throws<SalesforceApiException>(() => SalesforceTokenProvider.ParseTokenResponse(body, Now));

        // Assert
        Assert.Equal(SalesforceErrorKind.Authentication, ex.Kind);
    }

    #endregion

    #region Token errors

    [Theory]
    [InlineData("invalid_client", "invalid client credentials", true, "Salesforce:ClientSecret")]
    [InlineData("invalid_client_id", "client identifier invalid", true, "Salesforce:ClientId")]
    [InlineData("invalid_grant", "request not supported on this domain", true, "Salesforce:LoginUrl")]
    [InlineData("invalid_grant", "no client credentials user enabled", true, "Salesforce:ClientId")]
    [InlineData("invalid_grant", "authentication failure - Invalid Password", true, "Salesforce:ClientSecret")]
    [InlineData("unsupported_grant_type", "grant type not supported", true, "Salesforce:ClientId")]
    [InlineData("invalid_grant", "Audience validation failed", false, "Salesforce:JwtAudience")]
    [InlineData("invalid_grant", "audience is invalid", false, "Salesforce:JwtAudience")]
    [InlineData("invalid_grant", "invalid assertion", false, "Salesforce:PrivateKey")]
    [InlineData("invalid_grant", "user hasn't approved this consumer", false, "Salesforce:Username")]
    [InlineData("invalid_client_id", "client identifier invalid", false, "Salesforce:ClientId")]
    public void MapTokenError_R3Errors_NameTheSettingToFix(string error, string description, bool clientCredentials, string setting)
    {
        // Arrange
        var body = JsonSerializer.Serialize(new { error, error_description = description });

        // Act
        var ex = SalesforceTokenProvider.MapTokenError(HttpStatusCode.BadRequest, body, clientCredentials);

        // Assert
        Assert.Equal(SalesforceErrorKind.Authentication, ex.Kind);
        Assert.Equal(setting, ex.Setting);
        Assert.StartsWith($"{setting} was rejected by the token endpoint ({error}: {description})", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapTokenError_InvalidClient_ReadsLikeTheIssueExample()
    {
        // Arrange
        const string body = """{"error":"invalid_client","error_description":"invalid client credentials"}""";

        // Act
        var ex = SalesforceTokenProvider.MapTokenError(HttpStatusCode.BadRequest, body, clientCredentials: true);

        // Assert
        Assert.StartsWith("Salesforce:ClientSecret was rejected by the token endpoint (invalid_client: invalid client credentials)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable, "<html><title>Down</title></html>")]
    [InlineData(HttpStatusCode.BadRequest, """{"error":"rate_limit_exceeded","error_description":"too many"}""")]
    public void MapTokenError_OutageOrRateLimit_IsTransient(HttpStatusCode status, string body)
    {
        // Arrange
        // Act
        var ex = SalesforceTokenProvider.MapTokenError(status, body, clientCredentials: true);

        // Assert
        Assert.Equal(SalesforceErrorKind.Transient, ex.Kind);
        Assert.Null(ex.Setting);
    }

    [Fact]
    public async Task GetTokenAsync_TokenEndpointRejects_ThrowsWithoutLeakingTheSecret()
    {
        // Arrange
        var handler = new StubHttpMessageHandler((_, _) => StubHttpMessageHandler.Json(HttpStatusCode.BadRequest, """{"error":"invalid_client","error_description":"invalid client credentials"}"""));
        var provider = CreateProvider(handler, new FakeTimeProvider(Now));

        // Act
        var ex = await Assert.ThrowsAsync<SalesforceApiException>(() => provider.GetTokenAsync(TestContext.Current.CancellationToken).AsTask());

        // Assert
        Assert.Equal("Salesforce:ClientSecret", ex.Setting);
        Assert.DoesNotContain("s3cr3t", ex.Message, StringComparison.Ordinal);
    }

    #endregion

    #region Caching and single flight

    [Fact]
    public async Task GetTokenAsync_ClientCredentials_PostsFormToMyDomainTokenEndpoint()
    {
        // Arrange
        var handler = TokenHandler();
        var provider = CreateProvider(handler, new FakeTimeProvider(Now));

        // Act
        var token = await provider.GetTokenAsync(TestContext.Current.CancellationToken);

        // Assert
        var request = Assert.Single(handler.Requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal(new Uri("https://acme.my.salesforce.com/services/oauth2/token"), request.Uri);
        Assert.Equal("grant_type=client_credentials&client_id=client-id&client_secret=s3cr3t", request.Body);
        Assert.Equal("token-1", token.AccessToken);
    }

    [Fact]
    public async Task GetTokenAsync_ManyConcurrentCallers_FetchesOnce()
    {
        // Arrange
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = TokenHandler();
        handler.BeforeRespond = _ => release.Task;
        var provider = CreateProvider(handler, new FakeTimeProvider(Now));

        // Act
        var callers = Enumerable.Range(0, 25).Select(_ => Task.Run(() => provider.GetTokenAsync(TestContext.Current.CancellationToken).AsTask(), TestContext.Current.CancellationToken)).ToList();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        release.SetResult();
        var tokens = await Task.WhenAll(callers);

        // Assert
        Assert.Single(handler.Requests);
        Assert.All(tokens, t => Assert.Same(tokens[0], t));
    }

    [Fact]
    public async Task Invalidate_ConcurrentCallersWithTheSameRejectedToken_RefreshOnce()
    {
        // Arrange
        var handler = TokenHandler();
        var provider = CreateProvider(handler, new FakeTimeProvider(Now));
        var rejected = await provider.GetTokenAsync(TestContext.Current.CancellationToken);

        // Act
        var callers = Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
        {
            provider.Invalidate(rejected);
            return await provider.GetTokenAsync(TestContext.Current.CancellationToken);
        }, TestContext.Current.CancellationToken)).ToList();
        var fresh = await Task.WhenAll(callers);

        // Assert
        Assert.Equal(2, handler.Requests.Count);
        Assert.All(fresh, t => Assert.Equal("token-2", t.AccessToken));
    }

    [Fact]
    public async Task Invalidate_StaleToken_KeepsTheNewerOne()
    {
        // Arrange
        var handler = TokenHandler();
        var provider = CreateProvider(handler, new FakeTimeProvider(Now));
        var first = await provider.GetTokenAsync(TestContext.Current.CancellationToken);
        provider.Invalidate(first);
        var second = await provider.GetTokenAsync(TestContext.Current.CancellationToken);

        // Act
        provider.Invalidate(first);
        var current = await provider.GetTokenAsync(TestContext.Current.CancellationToken);

        // Assert
        Assert.Same(second, current);
        Assert.Equal(2, handler.Requests.Count);
    }

    [Fact]
    public async Task GetTokenAsync_OlderThanRefreshInterval_FetchesAgain()
    {
        // Arrange
        var time = new FakeTimeProvider(Now);
        var handler = TokenHandler();
        var provider = CreateProvider(handler, time);
        await provider.GetTokenAsync(TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromMinutes(59));
        await provider.GetTokenAsync(TestContext.Current.CancellationToken);

        // Act
        time.Advance(TimeSpan.FromMinutes(2));
        var token = await provider.GetTokenAsync(TestContext.Current.CancellationToken);

        // Assert
        Assert.Equal(2, handler.Requests.Count);
        Assert.Equal("token-2", token.AccessToken);
    }

    #endregion

    #region JWT bearer

    [Fact]
    public async Task GetTokenAsync_JwtBearer_SendsRs256AssertionWithRequiredClaims()
    {
        // Arrange
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportPkcs8PrivateKeyPem();
        var handler = TokenHandler();
        var options = new SalesforceOptions
        {
            LoginUrl = "https://acme.my.salesforce.com",
            ClientId = "consumer-key",
            Username = "integration@acme.example",
            PrivateKey = pem.Replace("\n", "\\n", StringComparison.Ordinal),
            JwtAudience = "https://test.salesforce.com",
        };
        var provider = CreateProvider(handler, new FakeTimeProvider(Now), options);

        // Act
        await provider.GetTokenAsync(TestContext.Current.CancellationToken);

        // Assert
        var form = ParseForm(Assert.Single(handler.Requests).Body);
        Assert.Equal("urn:ietf:params:oauth:grant-type:jwt-bearer", form["grant_type"]);
        var parts = form["assertion"].Split('.');
        Assert.Equal(3, parts.Length);
        using var header = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[0]));
        Assert.Equal("RS256", header.RootElement.GetProperty("alg").GetString());
        using var claims = JsonDocument.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        Assert.Equal("consumer-key", claims.RootElement.GetProperty("iss").GetString());
        Assert.Equal("integration@acme.example", claims.RootElement.GetProperty("sub").GetString());
        Assert.Equal("https://test.salesforce.com", claims.RootElement.GetProperty("aud").GetString());
        Assert.Equal((Now + TimeSpan.FromMinutes(3)).ToUnixTimeSeconds(), claims.RootElement.GetProperty("exp").GetInt64());
        var signed = Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}");
        Assert.True(rsa.VerifyData(signed, System.Buffers.Text.Base64Url.DecodeFromChars(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    #endregion

    private static StubHttpMessageHandler TokenHandler()
    {
        var issued = 0;
        return new StubHttpMessageHandler((_, _) =>
        {
            var n = Interlocked.Increment(ref issued);
            return StubHttpMessageHandler.Json(HttpStatusCode.OK, $$"""{"access_token":"token-{{n}}","instance_url":"https://acme.my.salesforce.com","token_type":"Bearer","issued_at":"1278448832702"}""");
        });
    }

    private static SalesforceTokenProvider CreateProvider(StubHttpMessageHandler handler, TimeProvider time, SalesforceOptions? options = null)
    {
        options ??= new SalesforceOptions { LoginUrl = "https://acme.my.salesforce.com", ClientId = "client-id", ClientSecret = "s3cr3t" };
        return new SalesforceTokenProvider(new StubHttpClientFactory(handler), Options.Create(options), time, NullLogger<SalesforceTokenProvider>.Instance);
    }

    private static Dictionary<string, string> ParseForm(string body) =>
        body.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => Uri.UnescapeDataString(p[0]), p => Uri.UnescapeDataString(p[1].Replace('+', ' ')));
}
