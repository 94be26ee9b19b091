using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Thin typed client over Salesforce REST. Authentication, retries and usage tracking live in the
/// HTTP pipeline (<see cref="SalesforceServiceCollectionExtensions.AddSalesforce"/>); this class only
/// shapes requests and maps responses.
/// </summary>
internal sealed partial class SalesforceClient(
    HttpClient http,
    IOptions<SalesforceOptions> options,
    ISalesforceApiUsage usage,
    ILogger<SalesforceClient> logger) : ISalesforceClient
{
    /// <summary>sObject Collections accept at most 200 records per call.</summary>
    public const int MaxCollectionSize = 200;

    // Salesforce refuses GET URIs longer than 16,384 bytes (HTTP 414); fail before spending a call.
    private const int MaxUriLength = 16_000;

    private string DataPath => $"services/data/v{options.Value.ApiVersion}";

    public async Task UpdateRecordAsync(SalesforceId id, IReadOnlyDictionary<string, object?> fields, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fields);
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"{DataPath}/sobjects/{id.SObjectName}/{id.Value}")
        {
            Content = JsonContent.Create(FieldsOnly(fields), options: SalesforceJson.Options),
        };
        using var response = await SendAsync(request, $"update of {id.SObjectName}", cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<RecordResult>> UpdateRecordsAsync(IReadOnlyList<SalesforceRecordUpdate> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count > MaxCollectionSize)
        {
            throw new ArgumentException($"An sObject Collections update takes at most {MaxCollectionSize} records; got {records.Count}.", nameof(records));
        }

        if (records.Count == 0)
        {
            return [];
        }

        // Salesforce processes consecutive same-type records as one chunk and allows 10 chunks per
        // call; grouping by type keeps a Contact/Lead mix at two. OrderBy is stable, so indices map back.
        var order = Enumerable.Range(0, records.Count).OrderBy(i => records[i].Id.ObjectType).ToArray();
        var body = new Dictionary<string, object?>
        {
            ["allOrNone"] = false,
            ["records"] = order.Select(i => ToCollectionRecord(records[i])).ToList(),
        };

        using var request = new HttpRequestMessage(HttpMethod.Patch, $"{DataPath}/composite/sobjects")
        {
            Content = JsonContent.Create(body, options: SalesforceJson.Options),
        };
        using var response = await SendAsync(request, "collections update", cancellationToken).ConfigureAwait(false);
        var saveResults = await response.Content.ReadFromJsonAsync<List<SaveResult>>(SalesforceJson.Options, cancellationToken).ConfigureAwait(false);
        return MapCollectionResults(records, order, saveResults);
    }

    public IAsyncEnumerable<T> QueryAsync<T>(string soql, CancellationToken cancellationToken) => QueryCoreAsync<T>("query", soql, cancellationToken);

    public IAsyncEnumerable<T> QueryAllAsync<T>(string soql, CancellationToken cancellationToken) => QueryCoreAsync<T>("queryAll", soql, cancellationToken);

    public async Task<SObjectDescription> DescribeAsync(string sObjectName, CancellationToken cancellationToken) =>
        await DescribeCoreAsync(sObjectName, since: null, cancellationToken).ConfigureAwait(false)
        ?? throw UnexpectedBody($"describe of {sObjectName}");

    public Task<SObjectDescription?> DescribeIfModifiedAsync(string sObjectName, DateTimeOffset since, CancellationToken cancellationToken) =>
        DescribeCoreAsync(sObjectName, since, cancellationToken);

    private async Task<SObjectDescription?> DescribeCoreAsync(string sObjectName, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(sObjectName) || !ApiNamePattern().IsMatch(sObjectName))
        {
            throw new ArgumentException("Not an sObject API name.", nameof(sObjectName));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, $"{DataPath}/sobjects/{sObjectName}/describe");
        request.Headers.IfModifiedSince = since;
        using var response = await SendAsync(request, $"describe of {sObjectName}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotModified)
        {
            return null;
        }

        var validAsOf = response.Content.Headers.LastModified ?? response.Headers.Date?.AddSeconds(-1);
        var describe = await response.Content.ReadFromJsonAsync<DescribeResult>(SalesforceJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw UnexpectedBody($"describe of {sObjectName}");
        var fields = (describe.Fields ?? [])
            .Where(f => !string.IsNullOrEmpty(f.Name))
            .Select(f => new FieldDescription(f.Name!, f.Label, f.Type, f.Updateable, f.Custom))
            .ToList();
        return new SObjectDescription(describe.Name ?? sObjectName, describe.Label, fields) { ValidAsOf = validAsOf };
    }

    public async Task<SalesforceLimits> GetLimitsAsync(CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{DataPath}/limits");
        using var response = await SendAsync(request, "limits", cancellationToken).ConfigureAwait(false);
        var limits = await response.Content.ReadFromJsonAsync<Dictionary<string, LimitEntry>>(SalesforceJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw UnexpectedBody("limits");
        return new SalesforceLimits(limits.ToDictionary(p => p.Key, p => new SalesforceLimit(p.Value.Max, p.Value.Remaining), StringComparer.Ordinal));
    }

    /// <summary>Pairs Salesforce's per-record results (in request order) with the caller's records.</summary>
    internal static IReadOnlyList<RecordResult> MapCollectionResults(IReadOnlyList<SalesforceRecordUpdate> records, IReadOnlyList<int> order, IReadOnlyList<SaveResult>? saveResults)
    {
        if (saveResults is null || saveResults.Count != order.Count)
        {
            throw new SalesforceApiException(
                $"Salesforce collections update returned {saveResults?.Count ?? 0} results for {order.Count} records; the outcome of each record is unknown.",
                SalesforceErrorKind.Transient);
        }

        var results = new RecordResult[records.Count];
        for (var position = 0; position < order.Count; position++)
        {
            var index = order[position];
            var saved = saveResults[position];
            var errors = (saved.Errors ?? [])
                .Select(e => new SalesforceError(e.StatusCode ?? e.ErrorCode ?? "UNKNOWN_ERROR", SalesforceMessageScrubber.Scrub(e.Message ?? string.Empty), e.Fields ?? []))
                .ToList();
            if (!saved.Success && errors.Count == 0)
            {
                errors.Add(new SalesforceError("UNKNOWN_ERROR", "Salesforce reported a failure without an error.", []));
            }

            // Collection results carry no HTTP status per record; 400 is what the same error gets on a single update.
            var kind = saved.Success ? (SalesforceErrorKind?)null : SalesforceErrors.Classify(400, errors);
            results[index] = new RecordResult(records[index].Id, saved.Success, errors, kind);
        }

        return results;
    }

    private async IAsyncEnumerable<T> QueryCoreAsync<T>(string resource, string soql, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(soql);
        string? url = $"{DataPath}/{resource}?q={Uri.EscapeDataString(soql)}";
        if (url.Length > MaxUriLength)
        {
            throw new ArgumentException("The SOQL query is too long for one request; split long IN lists into chunks.", nameof(soql));
        }

        var operation = resource == "query" ? "query" : "queryAll";
        while (url is not null)
        {
            QueryPage<T>? page;
            using (var request = new HttpRequestMessage(HttpMethod.Get, url))
            {
                if (options.Value.QueryBatchSize is { } batchSize)
                {
                    request.Headers.TryAddWithoutValidation("Sforce-Query-Options", string.Create(CultureInfo.InvariantCulture, $"batchSize={batchSize}"));
                }

                using var response = await SendAsync(request, operation, cancellationToken).ConfigureAwait(false);
                page = await response.Content.ReadFromJsonAsync<QueryPage<T>>(SalesforceJson.Options, cancellationToken).ConfigureAwait(false)
                    ?? throw UnexpectedBody(operation);
            }

            foreach (var record in page.Records ?? [])
            {
                yield return record;
            }

            // jsforce notes "done" can be missing when there are no records; treat that as the last page.
            url = page.Done is false ? NextPageUrl(page.NextRecordsUrl, operation) : null;
        }
    }

    private static string NextPageUrl(string? nextRecordsUrl, string operation)
    {
        // The token goes wherever this points, so only paths on the instance are followed.
        if (string.IsNullOrEmpty(nextRecordsUrl) || !nextRecordsUrl.StartsWith("/services/data/", StringComparison.Ordinal))
        {
            throw new SalesforceApiException($"Salesforce {operation} said more records follow but gave no usable nextRecordsUrl.", SalesforceErrorKind.Permanent);
        }

        return nextRecordsUrl;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, string operation, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException ex)
        {
            throw new SalesforceApiException($"Salesforce {operation} was not attempted: calls are paused after repeated failures.", SalesforceErrorKind.Transient, innerException: ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new SalesforceApiException($"Salesforce {operation} timed out.", SalesforceErrorKind.Transient, innerException: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the caller's cancellation, so an HttpClient timeout (the token endpoint's backstop).
            throw new SalesforceApiException($"Salesforce {operation} timed out.", SalesforceErrorKind.Transient, innerException: ex);
        }
        catch (HttpRequestException ex)
        {
            throw new SalesforceApiException($"Salesforce {operation} could not reach Salesforce ({ex.HttpRequestError}).", SalesforceErrorKind.Transient, innerException: ex);
        }

        // A 304 is an answer only to a conditional request (the describe's If-Modified-Since).
        if (response.IsSuccessStatusCode || (response.StatusCode == HttpStatusCode.NotModified && request.Headers.IfModifiedSince is not null))
        {
            return response;
        }

        using (response)
        {
            var error = await SalesforceErrors.ToExceptionAsync(response, operation, cancellationToken).ConfigureAwait(false);
            var url = SalesforceLog.SafeUrl(request.RequestUri);
            if (error.Kind == SalesforceErrorKind.LimitExceeded)
            {
                var latest = usage.Latest;
                SalesforceLog.DailyLimitExhausted(logger, request.Method.Method, url, latest?.Used ?? -1, latest?.Limit ?? -1);
            }
            else
            {
                SalesforceLog.RequestFailed(logger, request.Method.Method, url, (int)response.StatusCode, error.ErrorCode ?? "none", error.Kind);
            }

            throw error;
        }
    }

    private static Dictionary<string, object?> FieldsOnly(IReadOnlyDictionary<string, object?> fields)
    {
        // The record is named by the URL (or "id" in collections); Id and attributes in the body are not field writes.
        return fields
            .Where(f => !string.Equals(f.Key, "Id", StringComparison.OrdinalIgnoreCase) && !string.Equals(f.Key, "attributes", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
    }

    private static Dictionary<string, object?> ToCollectionRecord(SalesforceRecordUpdate update)
    {
        var record = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["attributes"] = new Dictionary<string, string> { ["type"] = update.Id.SObjectName },
            ["id"] = update.Id.Value,
        };
        foreach (var (name, value) in FieldsOnly(update.Fields))
        {
            record[name] = value;
        }

        return record;
    }

    private static SalesforceApiException UnexpectedBody(string operation) =>
        new($"Salesforce {operation} returned an empty or unexpected body.", SalesforceErrorKind.Transient);

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_]{0,79}$", RegexOptions.CultureInvariant)]
    private static partial Regex ApiNamePattern();

    internal sealed class SaveResult
    {
        public string? Id { get; set; }

        public bool Success { get; set; }

        public List<ResultError>? Errors { get; set; }
    }

    internal sealed class ResultError
    {
        public string? StatusCode { get; set; }

        public string? ErrorCode { get; set; }

        public string? Message { get; set; }

        public List<string>? Fields { get; set; }
    }

    internal sealed class QueryPage<T>
    {
        public long TotalSize { get; set; }

        public bool? Done { get; set; }

        public string? NextRecordsUrl { get; set; }

        public List<T>? Records { get; set; }
    }

    private sealed class DescribeResult
    {
        public string? Name { get; set; }

        public string? Label { get; set; }

        public List<DescribeField>? Fields { get; set; }
    }

    private sealed class DescribeField
    {
        public string? Name { get; set; }

        public string? Label { get; set; }

        public string? Type { get; set; }

        public bool Updateable { get; set; }

        public bool Custom { get; set; }
    }

    private sealed class LimitEntry
    {
        [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
        public long Max { get; set; }

        [JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)]
        public long Remaining { get; set; }
    }
}
