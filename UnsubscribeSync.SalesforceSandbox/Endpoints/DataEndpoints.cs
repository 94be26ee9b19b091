using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using UnsubscribeSync.SalesforceSandbox.Http;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Options;
using UnsubscribeSync.SalesforceSandbox.Query;
using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox.Endpoints;

/// <summary>The Salesforce REST resources the sandbox serves under <c>/services/data</c>.</summary>
public static class DataEndpoints
{
    private const int MaxCollectionRecords = 200;
    private const int MaxTypeChunks = 10;

    public static void MapDataEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/services/data", ListVersions);

        var api = app.MapGroup("/services/data/{version}").AddEndpointFilter<ApiCallFilter>();
        api.MapGet("/", Resources).WithMetadata(new ApiKindMetadata(ApiKind.Other));
        api.MapGet("/limits", Limits).WithMetadata(new ApiKindMetadata(ApiKind.Limits));
        api.MapGet("/sobjects", DescribeGlobal).WithMetadata(new ApiKindMetadata(ApiKind.Describe));
        api.MapGet("/sobjects/{type}/describe", Describe).WithMetadata(new ApiKindMetadata(ApiKind.Describe));
        api.MapGet("/sobjects/{type}/{id}", GetRecord).WithMetadata(new ApiKindMetadata(ApiKind.Sobject));
        api.MapPatch("/sobjects/{type}/{id}", UpdateRecordAsync).WithMetadata(new ApiKindMetadata(ApiKind.Sobject));
        api.MapPatch("/composite/sobjects", UpdateCollectionAsync).WithMetadata(new ApiKindMetadata(ApiKind.Composite));
        api.MapGet("/query", (HttpContext http, SandboxState state, QueryExecutor executor) => Query(http, state, executor, includeDeleted: false))
            .WithMetadata(new ApiKindMetadata(ApiKind.Query));
        api.MapGet("/queryAll", (HttpContext http, SandboxState state, QueryExecutor executor) => Query(http, state, executor, includeDeleted: true))
            .WithMetadata(new ApiKindMetadata(ApiKind.Query));
        api.MapGet("/query/{locator}", NextPage).WithMetadata(new ApiKindMetadata(ApiKind.Query));
        api.MapGet("/queryAll/{locator}", NextPage).WithMetadata(new ApiKindMetadata(ApiKind.Query));
        api.Map("/{**rest}", () => SalesforceJson.Error(SalesforceError.NotFound())).WithMetadata(new ApiKindMetadata(ApiKind.Other));
    }

    private static string Version(HttpContext http) => (string)http.Items[ApiCallFilter.VersionItem]!;

    private static IResult ListVersions(SandboxState state, ApiStats stats)
    {
        stats.Count(ApiKind.Versions);
        var latest = (int)decimal.Parse(state.Settings.LatestApiVersion, CultureInfo.InvariantCulture);
        var versions = new JsonArray();
        for (var v = 31; v <= latest; v++)
        {
            // v31.0 was Summer '14; three releases a year follow in the order Winter, Spring, Summer.
            var n = v - 31;
            var (season, year) = (n % 3) switch { 0 => ("Summer", 14 + (n / 3)), 1 => ("Winter", 15 + (n / 3)), _ => ("Spring", 15 + (n / 3)) };
            versions.Add(new JsonObject
            {
                ["label"] = $"{season} '{year:00}",
                ["url"] = $"/services/data/v{v}.0",
                ["version"] = $"{v}.0",
            });
        }

        return SalesforceJson.Json(versions);
    }

    private static IResult Resources(HttpContext http)
    {
        var prefix = $"/services/data/v{Version(http)}";
        return SalesforceJson.Json(new JsonObject
        {
            ["sobjects"] = $"{prefix}/sobjects",
            ["query"] = $"{prefix}/query",
            ["queryAll"] = $"{prefix}/queryAll",
            ["limits"] = $"{prefix}/limits",
            ["composite"] = $"{prefix}/composite",
        });
    }

    private static IResult Limits(SandboxState state)
    {
        var limit = state.Settings.DailyApiLimit;
        static JsonObject Pair(int max, int remaining) => new() { ["Max"] = max, ["Remaining"] = remaining };
        return SalesforceJson.Json(new JsonObject
        {
            ["DailyApiRequests"] = Pair(limit, Math.Max(0, limit - state.ApiUsage)),
            ["DailyBulkApiBatches"] = Pair(15000, 15000),
            ["DailyBulkV2QueryJobs"] = Pair(10000, 10000),
            ["DataStorageMB"] = Pair(1024, 1024),
        });
    }

    private static IResult DescribeGlobal(HttpContext http)
    {
        var prefix = $"/services/data/v{Version(http)}/sobjects";
        var objects = new JsonArray();
        foreach (var (name, label, plural, keyPrefix) in new[] { ("Account", "Account", "Accounts", "001"), ("Contact", "Contact", "Contacts", "003"), ("Lead", "Lead", "Leads", "00Q") })
        {
            objects.Add(new JsonObject
            {
                ["name"] = name,
                ["label"] = label,
                ["labelPlural"] = plural,
                ["keyPrefix"] = keyPrefix,
                ["custom"] = false,
                ["queryable"] = true,
                ["updateable"] = true,
                ["urls"] = new JsonObject { ["sobject"] = $"{prefix}/{name}", ["describe"] = $"{prefix}/{name}/describe" },
            });
        }

        return SalesforceJson.Json(new JsonObject { ["encoding"] = "UTF-8", ["maxBatchSize"] = MaxCollectionRecords, ["sobjects"] = objects });
    }

    private static IResult Describe(HttpContext http, string type, SandboxState state)
    {
        if (ObjectSchema.CanonicalType(type) is not { } canonical)
        {
            return SalesforceJson.Error(SalesforceError.NotFound());
        }

        // As Salesforce does: Last-Modified on the answer, and 304 with no body when the metadata has not changed since
        // If-Modified-Since (the call still counts against the daily allocation; the filter has counted it).
        var modified = state.MetadataModifiedAt(canonical);
        http.Response.Headers.LastModified = modified.ToString("R", CultureInfo.InvariantCulture);
        if (DateTimeOffset.TryParseExact(http.Request.Headers.IfModifiedSince.ToString(), "R", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since)
            && modified <= since)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        var schema = ObjectSchema.For(canonical, state.Settings);
        var prefix = $"/services/data/v{Version(http)}/sobjects/{schema.Name}";
        var fields = new JsonArray();
        foreach (var field in schema.Fields)
        {
            fields.Add(new JsonObject
            {
                ["name"] = field.Name,
                ["label"] = field.Label,
                ["type"] = field.TypeName,
                ["soapType"] = field.SoapType,
                ["length"] = field.Length,
                ["byteLength"] = field.Length * 3,
                ["updateable"] = field.Updateable,
                ["createable"] = field.Createable,
                ["custom"] = field.Custom,
                ["nillable"] = field.Nillable,
                ["defaultedOnCreate"] = field.Kind == FieldKind.Boolean || field.Kind == FieldKind.Id || field.Name.EndsWith("Date", StringComparison.Ordinal) || field.Name == "SystemModstamp",
                ["calculated"] = false,
                ["filterable"] = true,
                ["sortable"] = true,
                ["groupable"] = field.Kind != FieldKind.DateTime,
                ["unique"] = false,
                ["externalId"] = false,
                ["idLookup"] = field.Kind == FieldKind.Id || field.Kind == FieldKind.Email,
                ["nameField"] = false,
                ["defaultValue"] = field.Kind == FieldKind.Boolean ? false : null,
                ["referenceTo"] = field.Kind == FieldKind.Reference
                    ? new JsonArray(field.Name == "ConvertedContactId" ? "Contact" : schema.Name)
                    : new JsonArray(),
                ["relationshipName"] = field.Kind == FieldKind.Reference ? field.Name[..^2] : null,
                ["picklistValues"] = new JsonArray(),
                ["deprecatedAndHidden"] = false,
                ["htmlFormatted"] = false,
                ["inlineHelpText"] = null,
            });
        }

        return SalesforceJson.Json(new JsonObject
        {
            ["name"] = schema.Name,
            ["label"] = schema.Label,
            ["labelPlural"] = schema.LabelPlural,
            ["keyPrefix"] = schema.KeyPrefix,
            ["custom"] = false,
            ["createable"] = true,
            ["updateable"] = true,
            ["deletable"] = true,
            ["queryable"] = true,
            ["retrieveable"] = true,
            ["fields"] = fields,
            ["urls"] = new JsonObject
            {
                ["sobject"] = prefix,
                ["describe"] = $"{prefix}/describe",
                ["rowTemplate"] = $"{prefix}/{{ID}}",
            },
        });
    }

    private static IResult GetRecord(HttpContext http, string type, string id, string? fields, SandboxState state, RecordStore store)
    {
        if (ObjectSchema.CanonicalType(type) is not { } canonical)
        {
            return SalesforceJson.Error(SalesforceError.NotFound());
        }

        if (!SandboxIds.TryNormalize(id, out var id18) || ObjectSchema.TypeOfId(id18) != canonical)
        {
            return SalesforceJson.Error(SalesforceError.MalformedId(canonical, id));
        }

        var schema = ObjectSchema.For(canonical, state.Settings);
        var selected = new List<FieldDefinition>();
        foreach (var name in (fields ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (schema.Find(name) is not { } field)
            {
                return SalesforceJson.Error(SalesforceError.InvalidField(name, canonical));
            }

            selected.Add(field);
        }

        if (selected.Count == 0)
        {
            selected.AddRange(schema.Fields);
        }

        lock (store.Gate)
        {
            var record = store.Find(id18);
            if (record is null || record.IsDeleted)
            {
                return SalesforceJson.Error(SalesforceError.NotFound());
            }

            var json = new JsonObject
            {
                ["attributes"] = new JsonObject { ["type"] = canonical, ["url"] = $"/services/data/v{Version(http)}/sobjects/{canonical}/{id18}" },
            };
            foreach (var field in selected)
            {
                json[field.Name] = SalesforceJson.ToNode(record.Get(field.StorageKey));
            }

            return SalesforceJson.Json(json);
        }
    }

    private static async Task<IResult> UpdateRecordAsync(HttpContext http, string type, string id, SandboxState state, RecordStore store, RecordUpdater updater)
    {
        if (ObjectSchema.CanonicalType(type) is not { } canonical)
        {
            return SalesforceJson.Error(SalesforceError.NotFound());
        }

        using var body = await ReadJsonAsync(http);
        if (body is null)
        {
            return SalesforceJson.Error(SalesforceError.JsonParser("Unexpected end-of-input or malformed JSON in the request body"));
        }

        lock (store.Gate)
        {
            var error = updater.Prepare(canonical, id, body.RootElement, state.Settings, out var record, out var values);
            if (error is not null)
            {
                return SalesforceJson.Error(error);
            }

            store.Apply(record, values);
        }

        return Results.NoContent();
    }

    private static async Task<IResult> UpdateCollectionAsync(
        HttpContext http, SandboxState state, RecordStore store, RecordUpdater updater, FaultInjector faults)
    {
        using var body = await ReadJsonAsync(http);
        if (body is null || body.RootElement.ValueKind != JsonValueKind.Object
            || !body.RootElement.TryGetProperty("records", out var recordsElement) || recordsElement.ValueKind != JsonValueKind.Array)
        {
            return SalesforceJson.Error(SalesforceError.JsonParser("The request body must be an object with a records array"));
        }

        var allOrNone = body.RootElement.TryGetProperty("allOrNone", out var flag) && flag.ValueKind == JsonValueKind.True;
        var records = recordsElement.EnumerateArray().ToList();
        if (records.Count > MaxCollectionRecords)
        {
            return SalesforceJson.Error(new SalesforceError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"));
        }

        var types = records.Select(TypeOf).ToList();
        var chunks = types.Where((t, i) => i == 0 || !string.Equals(t, types[i - 1], StringComparison.OrdinalIgnoreCase)).Count();
        if (chunks > MaxTypeChunks)
        {
            return SalesforceJson.Error(new SalesforceError(400, "INVALID_BATCH_REQUEST",
                "Cannot have more than 10 chunks in a single operation. Please rearrange the data to reduce chunking."));
        }

        var settings = state.Settings;
        var outcomes = new (string? Id, SalesforceError? Error, StoredRecord? Record, Dictionary<string, object?>? Values)[records.Count];
        lock (store.Gate)
        {
            for (var i = 0; i < records.Count; i++)
            {
                outcomes[i] = PrepareEntry(records[i], types[i], settings, updater, faults);
            }

            var rollBack = allOrNone && outcomes.Any(o => o.Error is not null);
            for (var i = 0; i < outcomes.Length; i++)
            {
                if (outcomes[i].Error is not null)
                {
                    continue;
                }

                if (rollBack)
                {
                    outcomes[i].Error = new SalesforceError(400, "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request was using AllOrNone header", []);
                }
                else
                {
                    store.Apply(outcomes[i].Record!, outcomes[i].Values!);
                }
            }
        }

        var results = new JsonArray();
        foreach (var (id, error, _, _) in outcomes)
        {
            var result = new JsonObject();
            if (id is not null)
            {
                result["id"] = id;
            }

            result["success"] = error is null;
            result["errors"] = error is null
                ? new JsonArray()
                : new JsonArray(new JsonObject
                {
                    ["statusCode"] = error.ErrorCode,
                    ["message"] = error.Message,
                    ["fields"] = new JsonArray([.. (error.Fields ?? []).Select(f => (JsonNode?)f)]),
                });
            results.Add(result);
        }

        return SalesforceJson.Json(results);
    }

    private static (string? Id, SalesforceError? Error, StoredRecord? Record, Dictionary<string, object?>? Values) PrepareEntry(
        JsonElement entry, string? rawType, SandboxSettings settings, RecordUpdater updater, FaultInjector faults)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            return (null, SalesforceError.JsonParser("Each entry of records must be an object"), null, null);
        }

        if (ObjectSchema.CanonicalType(rawType) is not { } type)
        {
            return (null, new SalesforceError(400, "INVALID_TYPE",
                rawType is null ? "Must send a concrete entity type." : $"sObject type '{rawType}' is not supported.", []), null, null);
        }

        var rawId = (entry.TryGetProperty("id", out var idElement) || entry.TryGetProperty("Id", out idElement))
            && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
        if (rawId is null)
        {
            return (null, new SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]), null, null);
        }

        var error = updater.Prepare(type, rawId, entry, settings, out var record, out var values);
        var id = SandboxIds.TryNormalize(rawId, out var id18) && ObjectSchema.TypeOfId(id18) == type ? id18 : null;
        if (error is null && faults.TakeForRecord(ApiKind.Composite, id18) is { } fault)
        {
            error = fault;
        }

        return (id, error, error is null ? record : null, values);
    }

    private static string? TypeOf(JsonElement record) =>
        record.ValueKind == JsonValueKind.Object && record.TryGetProperty("attributes", out var attributes)
        && attributes.ValueKind == JsonValueKind.Object && attributes.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()
            : null;

    private static IResult Query(HttpContext http, SandboxState state, QueryExecutor executor, bool includeDeleted)
    {
        var soql = http.Request.Query["q"].ToString();
        if (string.IsNullOrWhiteSpace(soql))
        {
            return SalesforceJson.Error(SalesforceError.MalformedQuery("A query string has to be specified"));
        }

        var settings = state.Settings;
        try
        {
            return SalesforceJson.Json(executor.Execute(soql, includeDeleted, BatchSize(http.Request, settings.DefaultPageSize), Version(http), settings));
        }
        catch (SoqlException e)
        {
            return SalesforceJson.Error(e.Error);
        }
    }

    private static IResult NextPage(HttpContext http, string locator, QueryExecutor executor) =>
        executor.Continue(locator, Version(http)) is { } page
            ? SalesforceJson.Json(page)
            : SalesforceJson.Error(new SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator"));

    /// <summary>Honours <c>Sforce-Query-Options: batchSize=N</c>, clamped to Salesforce's 200..2000.</summary>
    private static int BatchSize(HttpRequest request, int defaultSize)
    {
        foreach (var part in request.Headers["Sforce-Query-Options"].ToString().Split([',', ';'], StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("batchSize=", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(part["batchSize=".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                return Math.Clamp(size, 200, 2000);
            }
        }

        return defaultSize;
    }

    private static async Task<JsonDocument?> ReadJsonAsync(HttpContext http)
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
}
