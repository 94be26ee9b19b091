using System.Diagnostics;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>Collects per-request latencies (thread-safe) and reports percentiles.</summary>
public sealed class Latencies
{
    private readonly List<double> _milliseconds = [];

    public int Count
    {
        get
        {
            lock (_milliseconds)
            {
                return _milliseconds.Count;
            }
        }
    }

    public void Add(long startTimestamp)
    {
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;
        lock (_milliseconds)
        {
            _milliseconds.Add(elapsed);
        }
    }

    public void AddRange(Latencies other)
    {
        lock (_milliseconds)
        {
            lock (other._milliseconds)
            {
                _milliseconds.AddRange(other._milliseconds);
            }
        }
    }

    /// <summary>The nearest-rank percentile in milliseconds; NaN when empty.</summary>
    public double Percentile(double percentile)
    {
        lock (_milliseconds)
        {
            if (_milliseconds.Count == 0)
            {
                return double.NaN;
            }

            var sorted = _milliseconds.Order().ToArray();
            var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
            return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
        }
    }
}
