using System.Net.Sockets;
using Azure;

namespace UnsubscribeSync.Functions.Storage;

/// <summary>Storage could not be reached or answered with a server-side failure; the caller should retry later.</summary>
public sealed class StorageUnavailableException(string message, Exception innerException) : Exception(message, innerException)
{
    /// <summary>Whether an exception from a storage call means "storage is unavailable" rather than a bug of ours.</summary>
    public static bool IsUnavailable(Exception exception, CancellationToken callerToken)
    {
        return exception switch
        {
            RequestFailedException rfe => rfe.Status is 0 or 408 or 429 or >= 500 || rfe.InnerException is not null && IsUnavailable(rfe.InnerException, callerToken),
            AggregateException agg => agg.InnerExceptions.All(e => IsUnavailable(e, callerToken)),
            HttpRequestException or SocketException or IOException => true,
            // The SDK's own network timeout surfaces as a cancellation the caller did not ask for.
            OperationCanceledException => !callerToken.IsCancellationRequested,
            _ => false,
        };
    }
}
