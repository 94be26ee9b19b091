using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Status;

namespace UnsubscribeSync.Functions.Functions;

/// <summary><c>GET /api/status</c>: the seed's requirement checks, the ledger's counts, queues, nightly runs and API usage. Function key + <c>X-Admin-Key</c>.</summary>
public sealed class GetStatus(StatusHandler handler)
{
    [Function(nameof(GetStatus))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "status")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        return handler.GetJsonAsync(request, cancellationToken);
    }
}
