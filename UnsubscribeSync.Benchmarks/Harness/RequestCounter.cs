using Azure.Core;
using Azure.Core.Pipeline;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>Counts the HTTP requests an Azure SDK client sends, retries included (added per retry).</summary>
public sealed class RequestCounter : HttpPipelinePolicy
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Interlocked.Increment(ref _count);
        ProcessNext(message, pipeline);
    }

    public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        Interlocked.Increment(ref _count);
        return ProcessNextAsync(message, pipeline);
    }
}
