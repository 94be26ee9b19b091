using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Status;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>
/// <c>GET /api/status/page</c>: the same view as HTML with inline SVG charts. Function key (<c>?code=</c>) + the admin key
/// (<c>X-Admin-Key</c>, or <c>?key=</c> from a browser); in Azure also behind App Service Authentication (docs/status.md).
/// </summary>
public sealed class GetStatusPage(StatusHandler handler)
{
    [Function(nameof(GetStatusPage))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "status/page")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        return handler.GetPageAsync(request, cancellationToken);
    }
}
