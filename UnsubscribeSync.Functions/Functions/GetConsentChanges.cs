using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Consent;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// <c>GET /api/consent/changes?since=&amp;limit=</c>: the paged feed of every consent change, as JSON or CSV
/// (<c>Accept: text/csv</c>). Needs a function key and the consent API key. The literal route wins over
/// <c>consent/{email}</c>, and "changes" is not an address either way.
/// </summary>
public sealed class GetConsentChanges(ConsentChangesHandler handler)
{
    [Function(nameof(GetConsentChanges))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "consent/changes")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        return handler.HandleAsync(request, cancellationToken);
    }
}
