namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Sits innermost on every Salesforce client, so it sees each request (retries and token requests included):
/// it counts the request for <see cref="SalesforceCallMeter"/> and feeds the response's <c>Sforce-Limit-Info</c>
/// header into <see cref="ISalesforceApiUsage"/>, the only usage signal Salesforce sends without a call of its own.
/// </summary>
internal sealed class SalesforceLimitInfoHandler(ISalesforceApiUsage usage) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Counted when sent: a request that times out may still have been served and charged.
        SalesforceCallMeter.Count();
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Headers.TryGetValues(SalesforceApiUsage.HeaderName, out var values))
        {
            foreach (var value in values)
            {
                if (SalesforceApiUsage.TryParse(value, out var used, out var limit))
                {
                    usage.Record(used, limit);
                    return response;
                }
            }
        }

        // Token answers and the version list never carry usage; a data API answer that should and does not tells the
        // budget that waiting for the next answer will not bring a reading.
        if ((response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.NotModified) && IsDataApi(request.RequestUri))
        {
            usage.RecordUnreported();
        }

        return response;
    }

    private static bool IsDataApi(Uri? uri) =>
        uri is not null && uri.AbsolutePath.StartsWith("/services/data/v", StringComparison.OrdinalIgnoreCase);
}
