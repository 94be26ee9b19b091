using System.Globalization;
using System.Text.RegularExpressions;
using UnsubscribeSync.SalesforceSandbox.Auth;
using UnsubscribeSync.SalesforceSandbox.Http;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox.Endpoints;

/// <summary>
/// What every <c>/services/data/vXX.X/…</c> call goes through, in Salesforce's order: counted in the
/// stats, API version (410 below 31.0), session (401 INVALID_SESSION_ID), daily allocation
/// (403 REQUEST_LIMIT_EXCEEDED, <c>Sforce-Limit-Info</c> on every answer), then injected latency and faults.
/// </summary>
public sealed partial class ApiCallFilter(SandboxState state, TokenStore tokens, FaultInjector faults, ApiStats stats) : IEndpointFilter
{
    public const string VersionItem = "sandbox.version";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var kind = http.GetEndpoint()?.Metadata.GetMetadata<ApiKindMetadata>()?.Kind ?? ApiKind.Other;
        stats.Count(kind);

        var settings = state.Settings;
        var requested = http.GetRouteValue("version") as string;
        var version = string.Equals(requested, "latest", StringComparison.OrdinalIgnoreCase)
            ? settings.LatestApiVersion
            : requested is not null && VersionSegment().Match(requested) is { Success: true } match ? match.Groups[1].Value : null;
        if (version is null || decimal.Parse(version, CultureInfo.InvariantCulture) > decimal.Parse(settings.LatestApiVersion, CultureInfo.InvariantCulture))
        {
            return SalesforceJson.Error(SalesforceError.NotFound());
        }

        if (decimal.Parse(version, CultureInfo.InvariantCulture) < 31.0m)
        {
            return SalesforceJson.Error(new SalesforceError(410, "API_VERSION_RETIRED", $"API version {version} has been retired"));
        }

        http.Items[VersionItem] = version;
        if (BearerToken(http.Request) is not { } token || !tokens.IsValid(token))
        {
            return SalesforceJson.Error(new SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid"));
        }

        var withinLimit = state.TryConsumeApiCall(out var used, out var limit);
        http.Response.Headers["Sforce-Limit-Info"] = string.Create(CultureInfo.InvariantCulture, $"api-usage={used}/{limit}");
        if (!withinLimit)
        {
            return SalesforceJson.Error(new SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
        }

        if (faults.LatencyMs > 0)
        {
            await Task.Delay(faults.LatencyMs, http.RequestAborted);
        }

        var recordId = kind == ApiKind.Sobject && SandboxIds.TryNormalize(http.GetRouteValue("id") as string, out var id18) ? id18 : null;
        if (faults.TakeForCall(kind, recordId) is { } fault)
        {
            return SalesforceJson.Error(fault);
        }

        return await next(context);
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        foreach (var scheme in (ReadOnlySpan<string>)["Bearer ", "OAuth "])
        {
            if (header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return header[scheme.Length..].Trim();
            }
        }

        return null;
    }

    [GeneratedRegex(@"^v(\d{1,3}\.\d)$", RegexOptions.CultureInvariant)]
    private static partial Regex VersionSegment();
}
