using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// Typed client for the sandbox's <c>/sandbox/…</c> control API (not counted as Salesforce calls).
/// Every method throws <see cref="HttpRequestException"/> with the sandbox's message when it refuses.
/// </summary>
public sealed class SandboxControlClient(HttpClient http)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public Task ResetAsync(CancellationToken ct = default) => SendAsync(HttpMethod.Post, "sandbox/reset", null, ct);

    /// <summary>Creates the records in one call and returns their 18-character Ids in order.</summary>
    public async Task<IReadOnlyList<string>> CreateRecordsAsync(IEnumerable<SandboxRecord> records, CancellationToken ct = default)
    {
        var body = new JsonObject { ["records"] = new JsonArray([.. records.Select(r => (JsonNode)r.ToJson())]) };
        using var response = await PostAsync("sandbox/records", body, ct);
        var created = await response.Content.ReadFromJsonAsync<CreatedIds>(Json, ct);
        return created!.Ids;
    }

    /// <summary>The stored record with every field, including the custom opt-out field under its configured name.</summary>
    public async Task<JsonObject> GetRecordAsync(string id, CancellationToken ct = default)
    {
        using var response = await http.GetAsync($"sandbox/records/{Uri.EscapeDataString(id)}", ct);
        await EnsureSuccessAsync(response, ct);
        return (JsonNode.Parse(await response.Content.ReadAsStringAsync(ct)) as JsonObject)!;
    }

    /// <summary>Changes fields as an admin in the Salesforce UI would; bumps SystemModstamp unless it is set explicitly.</summary>
    public Task UpdateRecordAsAdminAsync(string id, object fields, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Patch, $"sandbox/records/{Uri.EscapeDataString(id)}", fields, ct);

    public Task MergeAsync(string masterId, IEnumerable<string> mergedIds, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "sandbox/merge", new { masterId, mergedIds = mergedIds.ToList() }, ct);

    public Task ConvertLeadAsync(string leadId, string contactId, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "sandbox/convert", new { leadId, contactId }, ct);

    public Task AddFaultsAsync(CancellationToken ct, params SandboxFault[] rules) =>
        SendAsync(HttpMethod.Post, "sandbox/faults", new { rules }, ct);

    /// <summary>Removes every fault rule and the injected latency.</summary>
    public Task ClearFaultsAsync(CancellationToken ct = default) => SendAsync(HttpMethod.Delete, "sandbox/faults", null, ct);

    public Task SetLatencyAsync(int milliseconds, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "sandbox/faults", new { latencyMs = milliseconds }, ct);

    public Task ExpireAllTokensAsync(CancellationToken ct = default) => SendAsync(HttpMethod.Post, "sandbox/tokens/expire", null, ct);

    public Task UpdateSettingsAsync(SandboxSettingsUpdate settings, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "sandbox/settings", settings, ct);

    public async Task<SandboxStats> GetStatsAsync(CancellationToken ct = default)
    {
        using var response = await http.GetAsync("sandbox/stats", ct);
        await EnsureSuccessAsync(response, ct);
        return (await response.Content.ReadFromJsonAsync<SandboxStats>(Json, ct))!;
    }

    private async Task<HttpResponseMessage> PostAsync(string path, JsonNode body, CancellationToken ct)
    {
        var response = await http.PostAsync(path, new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), ct);
        await EnsureSuccessAsync(response, ct);
        return response;
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        }

        using var response = await http.SendAsync(request, ct);
        await EnsureSuccessAsync(response, ct);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            throw new HttpRequestException($"Sandbox control call {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} failed with {(int)response.StatusCode}: {text}", null, response.StatusCode);
        }
    }

    private sealed record CreatedIds(List<string> Ids);
}
