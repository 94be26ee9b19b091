using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Core;
using Azure.Core.Pipeline;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>
/// Counts the HTTP requests an Azure SDK client sends, retries included (added per retry), by kind, and sums the
/// time they took (summed over concurrent requests, so it can exceed the wall time).
/// </summary>
public sealed class RequestCounter : HttpPipelinePolicy
{
    private readonly ConcurrentDictionary<string, long> _byKind = new(StringComparer.Ordinal);
    private long _count;
    private long _elapsedTicks;

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Time spent in requests (Stopwatch ticks summed over requests).</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _elapsedTicks));

    /// <summary>A copy of the counts by kind (see <see cref="KindOf"/>).</summary>
    public IReadOnlyDictionary<string, long> ByKind => new Dictionary<string, long>(_byKind, StringComparer.Ordinal);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var started = Start(message);
        try
        {
            ProcessNext(message, pipeline);
        }
        finally
        {
            Interlocked.Add(ref _elapsedTicks, Stopwatch.GetTimestamp() - started);
        }
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        var started = Start(message);
        try
        {
            await ProcessNextAsync(message, pipeline);
        }
        finally
        {
            Interlocked.Add(ref _elapsedTicks, Stopwatch.GetTimestamp() - started);
        }
    }

    private long Start(HttpMessage message)
    {
        Interlocked.Increment(ref _count);
        _byKind.AddOrUpdate(KindOf(message.Request), 1, (_, n) => n + 1);
        return Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// What a Table or Queue request does, from its method and path: table point read, query, entity write,
    /// batch (entity-group transaction); queue send, receive, delete or update; else other (create, list).
    /// </summary>
    public static string KindOf(Request request)
    {
        var path = request.Uri.Path;
        var method = request.Method;
        if (path.Contains("/messages", StringComparison.Ordinal))
        {
            return method == RequestMethod.Post ? "queue send"
                : method == RequestMethod.Get ? "queue receive"
                : method == RequestMethod.Delete ? "queue delete"
                : "queue update";
        }

        if (path.EndsWith("$batch", StringComparison.Ordinal))
        {
            return "table batch";
        }

        if (path.EndsWith("/Tables", StringComparison.Ordinal) || path.Contains("/Tables(", StringComparison.Ordinal))
        {
            return "other";
        }

        if (method == RequestMethod.Get)
        {
            return path.Contains("(PartitionKey=", StringComparison.Ordinal) ? "table point read" : "table query";
        }

        return method == RequestMethod.Head || method == RequestMethod.Options ? "other" : "table write";
    }
}
