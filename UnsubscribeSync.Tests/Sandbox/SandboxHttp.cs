using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Sandbox;

/// <summary>Raw Salesforce REST calls against the sandbox, so the tests see exactly what a client would.</summary>
internal static class SandboxHttp
{
    public const string Api = "/services/data/v64.0";

    public static async Task<HttpClient> ClientAsync(SalesforceSandboxFixture fixture) =>
        await fixture.CreateAuthorizedClientAsync(TestContext.Current.CancellationToken);

    public static Task<HttpResponseMessage> PatchAsync(this HttpClient http, string path, JsonNode body) =>
        http.SendAsync(new HttpRequestMessage(HttpMethod.Patch, path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        }, TestContext.Current.CancellationToken);

    public static Task<HttpResponseMessage> GetAsync(this HttpClient http, string path, string? batchSize)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (batchSize is not null)
        {
            request.Headers.TryAddWithoutValidation("Sforce-Query-Options", $"batchSize={batchSize}");
        }

        return http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    public static Task<HttpResponseMessage> QueryAsync(this HttpClient http, string soql, string resource = "query", string? batchSize = null) =>
        http.GetAsync($"{Api}/{resource}?q={Uri.EscapeDataString(soql)}", batchSize);

    public static async Task<JsonNode> JsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken))!;

    /// <summary>The errorCode of a Salesforce error array (first entry).</summary>
    public static async Task<string?> ErrorCodeAsync(this HttpResponseMessage response) =>
        (await response.JsonAsync())[0]?["errorCode"]?.GetValue<string>();

    public static Task<HttpResponseMessage> TokenAsync(this HttpClient http, IDictionary<string, string> form, AuthenticationHeaderValue? authorization = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/services/oauth2/token") { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = authorization;
        return http.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
