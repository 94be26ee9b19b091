using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.SalesforceSandbox;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>
/// The Salesforce sandbox: one already running (<c>--sandbox-url</c>, so its memory is not counted
/// as ours), or one hosted in this process on a free loopback port. Wraps the <c>/sandbox/…</c>
/// control API, whose calls are not counted as Salesforce calls.
/// </summary>
public sealed class SandboxHost : IAsyncDisposable
{
    public const string ClientId = "sandbox-client-id";
    public const string ClientSecret = "sandbox-client-secret";

    private readonly WebApplication? _app;
    private readonly HttpClient _http;

    private SandboxHost(Uri baseAddress, WebApplication? app)
    {
        BaseAddress = baseAddress;
        _app = app;
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(10) };
    }

    public Uri BaseAddress { get; }

    public bool IsInProcess => _app is not null;

    public static async Task<SandboxHost> StartAsync(Uri? external, CancellationToken cancellationToken)
    {
        if (external is not null)
        {
            var host = new SandboxHost(external, null);
            await host.ResetAsync(cancellationToken);
            return host;
        }

        var app = SandboxApp.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning"], settings =>
        {
            settings.ClientId = ClientId;
            settings.ClientSecret = ClientSecret;
        });
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SandboxHost(new Uri(address.TrimEnd('/') + "/"), app);
    }

    public Task ResetAsync(CancellationToken ct) => SendAsync(HttpMethod.Post, "sandbox/reset", null, ct);

    /// <summary>Raises the daily allocation so budget deferral does not kick in during a benchmark.</summary>
    public Task SetDailyLimitAsync(int limit, CancellationToken ct) => SendAsync(HttpMethod.Post, "sandbox/settings", new { dailyApiLimit = limit }, ct);

    /// <summary>Switches Person Accounts in the org on or off (off: Account's describe shows none, and the sync reads no Accounts).</summary>
    public Task SetPersonAccountsAsync(bool enabled, CancellationToken ct) => SendAsync(HttpMethod.Post, "sandbox/settings", new { personAccountsEnabled = enabled }, ct);

    /// <summary>Shifts the sandbox clock; records created meanwhile look that much older (negative = in the past).</summary>
    public Task SetClockOffsetAsync(int seconds, CancellationToken ct) => SendAsync(HttpMethod.Post, "sandbox/settings", new { clockOffsetSeconds = seconds }, ct);

    public Task SetLatencyAsync(int milliseconds, CancellationToken ct) => SendAsync(HttpMethod.Post, "sandbox/faults", new { latencyMs = milliseconds }, ct);

    public Task ClearFaultsAsync(CancellationToken ct) => SendAsync(HttpMethod.Delete, "sandbox/faults", null, ct);

    public Task UpdateAsAdminAsync(string id, object fields, CancellationToken ct) =>
        SendAsync(HttpMethod.Patch, $"sandbox/records/{Uri.EscapeDataString(id)}", fields, ct);

    /// <summary>Reads one record's HasOptedOutOfEmail through the control API (not counted).</summary>
    public async Task<bool> IsOptedOutAsync(string id, CancellationToken ct)
    {
        using var response = await _http.GetAsync($"sandbox/records/{Uri.EscapeDataString(id)}", ct);
        await EnsureSuccessAsync(response, ct);
        using var record = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
        return record.RootElement.GetProperty("HasOptedOutOfEmail").GetBoolean();
    }

    /// <summary>API calls by kind since the last reset (token, sobject, composite, query, describe, limits, …, total).</summary>
    public async Task<ApiCalls> GetStatsAsync(CancellationToken ct)
    {
        using var response = await _http.GetAsync("sandbox/stats", ct);
        await EnsureSuccessAsync(response, ct);
        return new ApiCalls((await response.Content.ReadFromJsonAsync<Dictionary<string, int>>(ct))!);
    }

    /// <summary>Creates records in one control call per 100,000, written as a stream; returns their Ids in order.</summary>
    public async Task<IReadOnlyList<string>> CreateRecordsAsync(IReadOnlyList<SeedRecord> records, CancellationToken ct)
    {
        var ids = new List<string>(records.Count);
        foreach (var chunk in records.Chunk(100_000))
        {
            using var content = new MemoryStream();
            await using (var writer = new Utf8JsonWriter(content))
            {
                writer.WriteStartObject();
                writer.WriteStartArray("records");
                foreach (var record in chunk)
                {
                    writer.WriteStartObject();
                    writer.WriteStartObject("attributes");
                    writer.WriteString("type", record.Type);
                    writer.WriteEndObject();
                    writer.WriteString("Email", record.Email);
                    writer.WriteBoolean("HasOptedOutOfEmail", record.OptedOut);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }

            content.Position = 0;
            using var body = new StreamContent(content);
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await _http.PostAsync("sandbox/records", body, ct);
            await EnsureSuccessAsync(response, ct);
            using var created = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            ids.AddRange(created.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetString()!));
        }

        return ids;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request, ct);
        await EnsureSuccessAsync(response, ct);
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            throw new HttpRequestException($"Sandbox control call {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.AbsolutePath} failed with {(int)response.StatusCode}: {text}");
        }
    }
}

/// <summary>A Contact or Lead to seed.</summary>
public sealed record SeedRecord(string Type, string Email, bool OptedOut);

/// <summary>Salesforce API calls by kind, as the sandbox counted them.</summary>
public sealed record ApiCalls(IReadOnlyDictionary<string, int> ByKind)
{
    public int this[string kind] => ByKind.GetValueOrDefault(kind);

    public int Total => this["total"];

    public static ApiCalls operator -(ApiCalls after, ApiCalls before) =>
        new(after.ByKind.Keys.Union(before.ByKind.Keys).ToDictionary(k => k, k => after[k] - before[k]));

    /// <summary>"55 (token 1, query 50, composite 5)": the non-zero kinds.</summary>
    public override string ToString()
    {
        var kinds = ByKind.Where(p => p.Key != "total" && p.Value != 0).Select(p => $"{p.Key} {p.Value}");
        return $"{Total} ({string.Join(", ", kinds)})";
    }
}
