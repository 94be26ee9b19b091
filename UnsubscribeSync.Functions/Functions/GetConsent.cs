using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Consent;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// <c>GET /api/consent/{email}</c>: an address's consent state, linked Salesforce records and audit trail. Needs a function
/// key and the consent API key (<c>X-Consent-Key</c>); the segment may be the address or its SHA-256 ledger key.
/// </summary>
public sealed class GetConsent(ConsentLookupHandler handler)
{
    [Function(nameof(GetConsent))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "consent/{email}")] HttpRequest request,
        string email,
        CancellationToken cancellationToken)
    {
        return handler.HandleAsync(request, email, cancellationToken);
    }
}
