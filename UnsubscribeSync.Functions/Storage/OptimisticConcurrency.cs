using Azure;
using Azure.Data.Tables;

namespace UnsubscribeSync.Functions.Storage;

/// <summary>
/// The one pattern for ETag-guarded writes that two workers may race on: read, decide, write with the ETag,
/// and on a 409 or 412 read and decide again. Every attempt starts from a fresh read, so a retry never
/// replays a decision made on stale data.
/// </summary>
public static class OptimisticConcurrency
{
    /// <summary>Whether a storage failure means "someone else changed it first" rather than a fault.</summary>
    public static bool IsConflict(Exception exception) => exception is RequestFailedException { Status: 409 or 412 };

    /// <summary>
    /// Runs <paramref name="attempt"/> (which must read what it decides on) until it does not conflict, at most
    /// <paramref name="maxAttempts"/> times; the last conflict is thrown. With <paramref name="backoff"/>, waits a
    /// jittered multiple of it between attempts, for rows many workers contend on.
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<int, Task<T>> attempt, int maxAttempts, CancellationToken cancellationToken, TimeSpan? backoff = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        for (var number = 1; ; number++)
        {
            try
            {
                return await attempt(number).ConfigureAwait(false);
            }
            catch (Exception ex) when (number < maxAttempts && IsConflict(ex))
            {
                if (backoff is { } step)
                {
                    var jitter = Random.Shared.NextDouble() + 0.5;
                    await Task.Delay(step * Math.Min(number, 5) * jitter, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="entity"/> if the row is still as it was read (its ETag), and takes the new ETag so the
    /// caller can write again. False when another writer changed the row first (412): the caller reads and decides again.
    /// </summary>
    public static async Task<bool> TryUpdateAsync<T>(this TableClient table, T entity, TableUpdateMode mode, CancellationToken cancellationToken)
        where T : class, ITableEntity
    {
        try
        {
            var response = await table.UpdateEntityAsync(entity, entity.ETag, mode, cancellationToken).ConfigureAwait(false);
            entity.ETag = response.Headers.ETag ?? entity.ETag;
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return false;
        }
    }
}
