using System.Diagnostics;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>
/// Sums the time the app's Salesforce HTTP requests take (outermost handler: retries and sign-in included),
/// over concurrent requests, so it can exceed the wall time.
/// </summary>
public sealed class SalesforceTimer
{
    private long _ticks;
    private long _count;

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks));

    public long Count => Interlocked.Read(ref _count);

    /// <summary>A handler to add to the Salesforce client (through <c>ConfigureHttpClientDefaults</c>).</summary>
    public DelegatingHandler CreateHandler() => new Handler(this);

    private sealed class Handler(SalesforceTimer timer) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                return await base.SendAsync(request, cancellationToken);
            }
            finally
            {
                Interlocked.Add(ref timer._ticks, Stopwatch.GetTimestamp() - started);
                Interlocked.Increment(ref timer._count);
            }
        }
    }
}
