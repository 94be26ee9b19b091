using System.Text.Json;
using System.Text.Json.Nodes;
using UnsubscribeSync.SalesforceSandbox.Auth;
using UnsubscribeSync.SalesforceSandbox.Http;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Query;
using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox.Endpoints;

/// <summary>
/// The <c>/sandbox/…</c> control API for tests, benchmarks and local runs. These calls need no token
/// and are not counted as Salesforce API calls. Documented in README.md.
/// </summary>
public static class ControlEndpoints
{
    public static void MapControlEndpoints(this IEndpointRouteBuilder app)
    {
        var control = app.MapGroup("/sandbox");
        control.MapPost("/reset", Reset);
        control.MapPost("/records", CreateRecordsAsync);
        control.MapGet("/records/{id}", GetRecord);
        control.MapPatch("/records/{id}", UpdateRecordAsync);
        control.MapPost("/merge", Merge);
        control.MapPost("/convert", Convert);
        control.MapPost("/faults", AddFaults);
        control.MapDelete("/faults", (FaultInjector faults) =>
        {
            faults.Clear();
            return Results.NoContent();
        });
        control.MapPost("/tokens/expire", (TokenStore tokens) =>
        {
            tokens.ExpireAll();
            return Results.NoContent();
        });
        control.MapGet("/settings", (SandboxState state) => Results.Json(SettingsView(state)));
        control.MapPost("/settings", UpdateSettings);
        control.MapGet("/stats", (ApiStats stats) => Results.Json(stats.Snapshot()));
    }

    private static IResult Reset(RecordStore store, SandboxState state, FaultInjector faults, ApiStats stats, QueryCursorStore cursors)
    {
        store.Clear();
        state.Reset();
        faults.Clear();
        stats.Reset();
        cursors.Clear();
        return Results.NoContent();
    }

    private static async Task<IResult> CreateRecordsAsync(HttpContext http, RecordStore store, SandboxState state, ILogger<RecordStore> logger)
    {
        using var body = await ReadAsync(http);
        if (body?.RootElement is not { ValueKind: JsonValueKind.Object } root
            || !root.TryGetProperty("records", out var records) || records.ValueKind != JsonValueKind.Array)
        {
            return Problem("The body must be {\"records\":[...]}");
        }

        try
        {
            var ids = store.Create([.. records.EnumerateArray()], state.Settings);
            SandboxLog.RecordsCreated(logger, ids.Count);
            return Results.Json(new { ids });
        }
        catch (SandboxRequestException e)
        {
            return Problem(e.Message);
        }
    }

    private static IResult GetRecord(string id, RecordStore store, SandboxState state)
    {
        if (!SandboxIds.TryNormalize(id, out var id18))
        {
            return Problem($"'{id}' is not a valid Id");
        }

        lock (store.Gate)
        {
            if (store.Find(id18) is not { } record)
            {
                return Results.NotFound();
            }

            var schema = ObjectSchema.For(record.Type, state.Settings, asAdmin: true);
            var json = new JsonObject { ["attributes"] = new JsonObject { ["type"] = record.Type } };
            foreach (var field in schema.Fields)
            {
                json[field.Name] = SalesforceJson.ToNode(record.Get(field.StorageKey));
            }

            return SalesforceJson.Json(json);
        }
    }

    private static async Task<IResult> UpdateRecordAsync(HttpContext http, string id, RecordStore store, SandboxState state)
    {
        using var body = await ReadAsync(http);
        if (body?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return Problem("The body must be a JSON object of field values");
        }

        if (!SandboxIds.TryNormalize(id, out var id18))
        {
            return Problem($"'{id}' is not a valid Id");
        }

        lock (store.Gate)
        {
            if (store.Find(id18) is not { } record)
            {
                return Results.NotFound();
            }

            var schema = ObjectSchema.For(record.Type, state.Settings, asAdmin: true);
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (property.NameEquals("attributes") || string.Equals(property.Name, "Id", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (schema.Find(property.Name) is not { } field)
                {
                    return Problem($"No field '{property.Name}' on {record.Type}");
                }

                if (!FieldValues.TryConvert(field, property.Value, out var value, out var error))
                {
                    return Problem(error.Message);
                }

                values[field.StorageKey] = value;
            }

            // Explicit SystemModstamp/LastModifiedDate values win over the bump, so tests can age a record.
            store.Apply(record, values);
        }

        return Results.NoContent();
    }

    private static IResult Merge(MergeRequest request, RecordStore store)
    {
        if (!SandboxIds.TryNormalize(request.MasterId, out var masterId))
        {
            return Problem("masterId is not a valid Id");
        }

        lock (store.Gate)
        {
            if (store.Find(masterId) is not { } master)
            {
                return Problem("masterId does not exist");
            }

            var merged = new List<StoredRecord>();
            foreach (var raw in request.MergedIds ?? [])
            {
                if (!SandboxIds.TryNormalize(raw, out var id18) || store.Find(id18) is not { } record || record.Type != master.Type || id18 == masterId)
                {
                    return Problem($"'{raw}' is not another existing {master.Type}");
                }

                merged.Add(record);
            }

            foreach (var record in merged)
            {
                store.Apply(record, new Dictionary<string, object?> { ["IsDeleted"] = true, ["MasterRecordId"] = masterId });
            }

            store.Apply(master, new Dictionary<string, object?>());
        }

        return Results.NoContent();
    }

    private static IResult Convert(ConvertRequest request, RecordStore store)
    {
        if (!SandboxIds.TryNormalize(request.LeadId, out var leadId) || !SandboxIds.TryNormalize(request.ContactId, out var contactId))
        {
            return Problem("leadId and contactId must be valid Ids");
        }

        lock (store.Gate)
        {
            if (store.Find(leadId) is not { Type: ObjectSchema.Lead } lead || store.Find(contactId) is not { Type: ObjectSchema.Contact })
            {
                return Problem("leadId must name an existing Lead and contactId an existing Contact");
            }

            store.Apply(lead, new Dictionary<string, object?> { ["IsConverted"] = true, ["ConvertedContactId"] = contactId });
        }

        return Results.NoContent();
    }

    private static IResult AddFaults(FaultsRequest request, FaultInjector faults)
    {
        foreach (var rule in request.Rules ?? [])
        {
            if (string.IsNullOrWhiteSpace(rule.Match) || (!Enum.TryParse<ApiKind>(rule.Match, ignoreCase: true, out _) && !string.Equals(rule.Match, "any", StringComparison.OrdinalIgnoreCase)))
            {
                return Problem($"Unknown match '{rule.Match}': use token, sobject, composite, query, describe, limits or any");
            }

            if (rule.RecordId is not null && !SandboxIds.TryNormalize(rule.RecordId, out _))
            {
                return Problem($"recordId '{rule.RecordId}' is not a valid Id");
            }
        }

        faults.Add((request.Rules ?? []).Select(r => new FaultRule
        {
            Match = r.Match!,
            Status = r.Status,
            ErrorCode = r.ErrorCode ?? "UNKNOWN_EXCEPTION",
            Message = r.Message,
            Count = r.Count,
            RecordId = r.RecordId,
        }));
        if (request.LatencyMs is { } latency)
        {
            faults.LatencyMs = Math.Max(0, latency);
        }

        return Results.NoContent();
    }

    private static IResult UpdateSettings(SettingsUpdate update, SandboxState state)
    {
        try
        {
            state.Update(
                s =>
                {
                    s.DailyApiLimit = update.DailyApiLimit ?? s.DailyApiLimit;
                    s.CustomOptOutField = update.CustomOptOutField ?? s.CustomOptOutField;
                    s.CustomFieldPresentOnContact = update.CustomFieldPresentOnContact ?? s.CustomFieldPresentOnContact;
                    s.CustomFieldPresentOnLead = update.CustomFieldPresentOnLead ?? s.CustomFieldPresentOnLead;
                    s.CustomFieldUpdateableOnContact = update.CustomFieldUpdateableOnContact ?? s.CustomFieldUpdateableOnContact;
                    s.CustomFieldUpdateableOnLead = update.CustomFieldUpdateableOnLead ?? s.CustomFieldUpdateableOnLead;
                    s.PersonAccountsEnabled = update.PersonAccountsEnabled ?? s.PersonAccountsEnabled;
                    s.DefaultPageSize = update.DefaultPageSize is { } size ? Math.Clamp(size, 200, 2000) : s.DefaultPageSize;
                    s.SessionLifetimeSeconds = update.SessionLifetimeSeconds ?? s.SessionLifetimeSeconds;
                    s.ClockOffsetSeconds = update.ClockOffsetSeconds ?? s.ClockOffsetSeconds;
                    s.JwtPublicKey = update.JwtPublicKey ?? s.JwtPublicKey;
                    if (!s.CustomOptOutField.EndsWith("__c", StringComparison.Ordinal) || s.DailyApiLimit < 1 || s.SessionLifetimeSeconds < 1)
                    {
                        throw new SandboxRequestException("customOptOutField must end in __c; dailyApiLimit and sessionLifetimeSeconds must be positive");
                    }
                },
                update.ApiUsage);
        }
        catch (SandboxRequestException e)
        {
            return Problem(e.Message);
        }

        return Results.Json(SettingsView(state));
    }

    private static object SettingsView(SandboxState state)
    {
        var s = state.Settings;
        return new
        {
            s.ClientId,
            s.JwtUsername,
            s.DailyApiLimit,
            ApiUsage = state.ApiUsage,
            s.CustomOptOutField,
            s.CustomFieldPresentOnContact,
            s.CustomFieldPresentOnLead,
            s.CustomFieldUpdateableOnContact,
            s.CustomFieldUpdateableOnLead,
            s.PersonAccountsEnabled,
            s.DefaultPageSize,
            s.SessionLifetimeSeconds,
            s.ClockOffsetSeconds,
            s.LatestApiVersion,
        };
    }

    private static IResult Problem(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);

    private static async Task<JsonDocument?> ReadAsync(HttpContext http)
    {
        try
        {
            return await JsonDocument.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record MergeRequest(string? MasterId, List<string>? MergedIds);

    private sealed record ConvertRequest(string? LeadId, string? ContactId);

    private sealed record FaultsRequest(List<FaultRuleRequest>? Rules, int? LatencyMs);

    private sealed record FaultRuleRequest(string? Match, int Status, string? ErrorCode, string? Message, int? Count, string? RecordId);

    private sealed record SettingsUpdate(
        int? DailyApiLimit,
        int? ApiUsage,
        string? CustomOptOutField,
        bool? CustomFieldPresentOnContact,
        bool? CustomFieldPresentOnLead,
        bool? CustomFieldUpdateableOnContact,
        bool? CustomFieldUpdateableOnLead,
        bool? PersonAccountsEnabled,
        int? DefaultPageSize,
        int? SessionLifetimeSeconds,
        int? ClockOffsetSeconds,
        string? JwtPublicKey);
}
