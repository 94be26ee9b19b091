namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Feeds every response's <c>Sforce-Limit-Info</c> header (retries and failures included) into
/// <see cref="ISalesforceApiUsage"/>; it is the only usage signal Salesforce sends without a call of its own.
/// </summary>
internal sealed class SalesforceLimitInfoHandler(ISalesforceApiUsage usage) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.Headers.TryGetValues(SalesforceApiUsage.HeaderName, out var values))
        {
            foreach (var value in values)
            {
                if (SalesforceApiUsage.TryParse(value, out var used, out var limit))
                {
                    usage.Record(used, limit);
                    break;
                }
            }
        }

        return response;
    }
}
