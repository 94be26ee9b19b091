using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>An access token and the instance it is valid for. <see cref="ToString"/> never shows the token.</summary>
internal sealed class SalesforceToken(string accessToken, Uri instanceUrl, DateTimeOffset obtainedAt)
{
    public string AccessToken { get; } = accessToken;

    /// <summary>The API base from the token response's <c>instance_url</c>.</summary>
    public Uri InstanceUrl { get; } = instanceUrl;

    /// <summary>When we received it; Salesforce does not say when it expires.</summary>
    public DateTimeOffset ObtainedAt { get; } = obtainedAt;

    public override string ToString() => $"Salesforce token for {InstanceUrl.Host} obtained {ObtainedAt:O}";
}

/// <summary>Hands out the cached access token, fetching a new one at most one at a time.</summary>
internal interface ISalesforceTokenProvider
{
    /// <summary>The current token, fetched first if there is none or it is older than the refresh interval.</summary>
    ValueTask<SalesforceToken> GetTokenAsync(CancellationToken cancellationToken);

    /// <summary>Drops <paramref name="rejected"/> after a 401, unless another caller already replaced it.</summary>
    void Invalidate(SalesforceToken rejected);
}

/// <summary>
/// OAuth 2.0 client-credentials or JWT bearer sign-in against the configured login URL. Tokens are
/// shared by every caller in the process; concurrent callers that find no usable token wait for one
/// fetch instead of each signing in (Salesforce caps sign-ins at about 3,600 an hour).
/// </summary>
internal sealed class SalesforceTokenProvider(
    IHttpClientFactory httpClientFactory,
    IOptions<SalesforceOptions> options,
    TimeProvider timeProvider,
    ILogger<SalesforceTokenProvider> logger) : ISalesforceTokenProvider, IDisposable
{
    /// <summary>The named client for the token endpoint; API resilience wraps token fetches, so it has none of its own.</summary>
    public const string HttpClientName = "Salesforce.Token";

    private const string JwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    private readonly SemaphoreSlim _fetchGate = new(1, 1);
    private SalesforceToken? _current;

    public async ValueTask<SalesforceToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        var token = Volatile.Read(ref _current);
        if (IsUsable(token))
        {
            return token!;
        }

        await _fetchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Whoever held the gate before us may have fetched one already.
            token = Volatile.Read(ref _current);
            if (IsUsable(token))
            {
                return token!;
            }

            token = await FetchAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _current, token);
            return token;
        }
        finally
        {
            _fetchGate.Release();
        }
    }

    public void Invalidate(SalesforceToken rejected)
    {
        Interlocked.CompareExchange(ref _current, null, rejected);
    }

    public void Dispose() => _fetchGate.Dispose();

    private bool IsUsable(SalesforceToken? token)
    {
        return token is not null && timeProvider.GetUtcNow() - token.ObtainedAt < options.Value.TokenRefreshInterval;
    }

    private async Task<SalesforceToken> FetchAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var loginUrl = new Uri(o.LoginUrl!, UriKind.Absolute);
        var tokenUrl = new Uri(loginUrl, "/services/oauth2/token");
        var flow = o.UsesClientCredentials ? "client_credentials" : "jwt_bearer";

        var form = o.UsesClientCredentials
            ? new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = o.ClientId!,
                ["client_secret"] = o.ClientSecret!,
            }
            : new Dictionary<string, string>
            {
                ["grant_type"] = JwtBearerGrant,
                ["assertion"] = JwtAssertion.Create(o.ClientId!, o.Username!, o.JwtAudience, o.PrivateKey!, timeProvider.GetUtcNow()),
            };

        var client = httpClientFactory.CreateClient(HttpClientName);
        using var content = new FormUrlEncodedContent(form);
        using var response = await client.PostAsync(tokenUrl, content, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);

        if (!response.IsSuccessStatusCode)
        {
            var error = MapTokenError(response.StatusCode, body, o.UsesClientCredentials);
            SalesforceLog.TokenRequestFailed(logger, flow, (int)response.StatusCode, error.ErrorCode ?? "none", error.Setting ?? "none");
            throw error;
        }

        var token = ParseTokenResponse(body, timeProvider.GetUtcNow());
        SalesforceLog.TokenObtained(logger, flow, token.InstanceUrl.Host);
        return token;
    }

    /// <summary>Reads a successful token response; <c>instance_url</c> becomes the API base.</summary>
    internal static SalesforceToken ParseTokenResponse(string body, DateTimeOffset now)
    {
        TokenResponse? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<TokenResponse>(body);
        }
        catch (JsonException ex)
        {
            throw new SalesforceApiException("The Salesforce token endpoint answered with a body that is not a token response.", SalesforceErrorKind.Authentication, HttpStatusCode.OK, innerException: ex);
        }

        if (string.IsNullOrEmpty(parsed?.AccessToken))
        {
            throw new SalesforceApiException("The Salesforce token response has no access_token.", SalesforceErrorKind.Authentication, HttpStatusCode.OK);
        }

        // The token is sent wherever instance_url points, so it gets the same https rule as LoginUrl.
        if (!SalesforceOptionsValidator.IsAllowedEndpoint(parsed.InstanceUrl, out var instanceUrl))
        {
            throw new SalesforceApiException("The Salesforce token response's instance_url is not an https URL, so the token is not used.", SalesforceErrorKind.Authentication, HttpStatusCode.OK);
        }

        return new SalesforceToken(parsed.AccessToken, new Uri(instanceUrl.GetLeftPart(UriPartial.Authority) + "/"), now);
    }

    /// <summary>
    /// Turns a token endpoint refusal into an error naming the app setting an administrator should
    /// look at. Only rate limiting and server faults are transient; everything else needs a config change.
    /// </summary>
    internal static SalesforceApiException MapTokenError(HttpStatusCode status, string body, bool clientCredentials)
    {
        var code = (int)status;
        var errors = SalesforceErrors.Parse(code, body);
        var error = errors[0];
        var description = string.IsNullOrEmpty(error.Message) ? "no description" : error.Message;

        if (error.ErrorCode is "rate_limit_exceeded" || code is 408 or 429 or >= 500)
        {
            return new SalesforceApiException(
                $"The Salesforce token endpoint is unavailable (HTTP {code} {error.ErrorCode}: {description}).",
                SalesforceErrorKind.Transient, status, errors);
        }

        var (setting, hint) = SettingFor(error.ErrorCode, description, clientCredentials);
        return new SalesforceApiException(
            $"{setting} was rejected by the token endpoint ({error.ErrorCode}: {description}){hint}",
            SalesforceErrorKind.Authentication, status, errors, setting);
    }

    private static (string Setting, string Hint) SettingFor(string error, string description, bool clientCredentials)
    {
        const string P = SalesforceOptions.SectionName + ":";
        bool Says(string text) => description.Contains(text, StringComparison.OrdinalIgnoreCase);

        return error switch
        {
            "invalid_client_id" => (P + "ClientId", ": check the connected app's consumer key."),
            "invalid_client" => clientCredentials
                ? (P + "ClientSecret", ": check the connected app's consumer secret.")
                : (P + "ClientId", ": check the connected app's consumer key."),
            "unsupported_grant_type" => (P + "ClientId", clientCredentials
                ? ": enable the client credentials flow on the connected app."
                : ": enable the JWT bearer flow (certificate) on the connected app."),
            "inactive_user" => (clientCredentials ? P + "ClientId" : P + "Username", ": the integration user is inactive."),
            "inactive_org" => (P + "LoginUrl", ": the organization is inactive."),
            "invalid_grant" when Says("domain") =>
                (P + "LoginUrl", ": use the org's My Domain URL (https://<domain>.my.salesforce.com)."),
            "invalid_grant" when Says("client credentials user") =>
                (P + "ClientId", ": set a Run As user for the client credentials flow on the connected app."),
            "invalid_grant" when Says("audience") =>
                (P + "JwtAudience", ": use https://login.salesforce.com for production or https://test.salesforce.com for a sandbox org."),
            "invalid_grant" when !clientCredentials && (Says("assertion") || Says("signature")) =>
                (P + "PrivateKey", ": the key must match the certificate uploaded to the connected app."),
            "invalid_grant" when !clientCredentials =>
                (P + "Username", ": the user must exist, be active and be pre-authorized for the connected app."),
            "invalid_grant" => (P + "ClientSecret", ": check the consumer secret and the connected app's client credentials settings."),
            _ => (P + "ClientId", "."),
        };
    }

    private sealed class TokenResponse
    {
        [JsonPropertyName("access_token")]
        public string? AccessToken { get; set; }

        [JsonPropertyName("instance_url")]
        public string? InstanceUrl { get; set; }
    }
}
