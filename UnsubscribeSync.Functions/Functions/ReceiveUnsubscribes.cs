using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using UnsubscribeSync.Functions.Intake;

namespace UnsubscribeSync.Functions.Functions;

/// <summary>The webhook (Marketo Engage or a relay): <c>POST /api/unsubscribes</c> records each unsubscribe durably and queues its push.</summary>
public sealed class ReceiveUnsubscribes(WebhookHandler handler)
{
    [Function(nameof(ReceiveUnsubscribes))]
    public Task<IResult> Run(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "unsubscribes")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        return handler.HandleAsync(request, cancellationToken);
    }
}
