using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Status;

namespace UnsubscribeSync.Functions.Functions;

/// <summary><c>POST /api/links/retry</c>: re-queues failed, blocked and deferred links now instead of at night. Function key + <c>X-Admin-Key</c>.</summary>
public sealed class RetryLinks(LinkRetryHandler handler)
{
    [Function(nameof(RetryLinks))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "links/retry")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        return handler.RetryAsync(request, cancellationToken);
    }
}
