using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.SalesforceSandbox;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// Runs the Salesforce sandbox in-process on a free loopback port for the tests that share it.
/// State is shared: call <c>Control.ResetAsync()</c> at the start of each test class (or test) that
/// depends on counts or settings, or seed distinct records (unique emails) so tests cannot collide.
/// </summary>
public sealed class SalesforceSandboxFixture : IAsyncLifetime
{
    private WebApplication? _app;
    private HttpClient? _controlHttp;

    /// <summary>Both the login (My Domain) URL and the instance_url, e.g. <c>http://127.0.0.1:54321</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public string ClientId { get; } = "sandbox-client-id";

    public string ClientSecret { get; } = "sandbox-client-secret";

    public string JwtUsername { get; } = "integration@sandbox.example";

    /// <summary>PKCS#8 PEM of a key pair generated for this fixture; the sandbox holds its public key.</summary>
    public string JwtPrivateKeyPem { get; private set; } = string.Empty;

    public string CustomOptOutField { get; } = "MSC__Marketo_Sales_Opt_Out__c";

    public SandboxControlClient Control { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        using var rsa = RSA.Create(2048);
        JwtPrivateKeyPem = rsa.ExportPkcs8PrivateKeyPem();
        var publicKeyPem = rsa.ExportSubjectPublicKeyInfoPem();

        _app = SandboxApp.Build(
            ["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"],
            settings =>
            {
                settings.ClientId = ClientId;
                settings.ClientSecret = ClientSecret;
                settings.JwtUsername = JwtUsername;
                settings.JwtPublicKey = publicKeyPem;
                settings.CustomOptOutField = CustomOptOutField;
            });
        await _app.StartAsync(TestContext.Current.CancellationToken);

        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.TrimEnd('/'));
        _controlHttp = CreateHttpClient();
        Control = new SandboxControlClient(_controlHttp);
    }

    /// <summary>A new HttpClient aimed at <see cref="BaseAddress"/>; the caller disposes it.</summary>
    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(100) };

    /// <summary>Gets an access token through the client-credentials flow (counts as one token call).</summary>
    public async Task<string> GetAccessTokenAsync(CancellationToken ct = default)
    {
        using var http = CreateHttpClient();
        using var response = await http.PostAsync("/services/oauth2/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = ClientId,
            ["client_secret"] = ClientSecret,
        }), ct);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(ct);
        return body!["access_token"]!.GetValue<string>();
    }

    /// <summary>An HttpClient that already carries a fresh bearer token.</summary>
    public async Task<HttpClient> CreateAuthorizedClientAsync(CancellationToken ct = default)
    {
        var token = await GetAccessTokenAsync(ct);
        var http = CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        _controlHttp?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }
}
