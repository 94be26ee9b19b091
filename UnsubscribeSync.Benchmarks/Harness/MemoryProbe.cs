using System.Diagnostics;

namespace UnsubscribeSync.Benchmarks.Harness;

/// <summary>Peak memory of this process over one phase.</summary>
/// <param name="PeakWorkingSetBytes">Peak resident set: the kernel's high-water mark when it could be reset for the phase, else the highest sample.</param>
/// <param name="PeakManagedBytes">Highest sampled <see cref="GC.GetTotalMemory"/> (live managed heap plus garbage not yet collected).</param>
/// <param name="PeakGcHeapBytes">Highest heap size the GC reported after a collection during the phase (<see cref="GC.GetGCMemoryInfo()"/>).</param>
/// <param name="AllocatedBytes">Bytes allocated by the process during the phase.</param>
/// <param name="FromKernelHighWaterMark">Whether <paramref name="PeakWorkingSetBytes"/> is the kernel's VmHWM for exactly this phase.</param>
public sealed record MemoryReading(long PeakWorkingSetBytes, long PeakManagedBytes, long PeakGcHeapBytes, long AllocatedBytes, bool FromKernelHighWaterMark)
{
    public static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0.0} MB";
}

/// <summary>
/// Samples memory every 20 ms while a phase runs. On Linux it also resets the kernel's peak-RSS
/// counter (<c>/proc/self/clear_refs</c>) at the start, so <see cref="Process.PeakWorkingSet64"/>
/// is the true peak of the phase rather than of the whole process.
/// </summary>
public sealed class MemoryProbe : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sampler;
    private readonly bool _hwmReset;
    private readonly long _allocatedAtStart;
    private long _peakWorkingSet;
    private long _peakManaged;
    private long _peakGcHeap;

    private MemoryProbe()
    {
        _hwmReset = TryResetHighWaterMark();
        _allocatedAtStart = GC.GetTotalAllocatedBytes(precise: false);
        Sample();
        _sampler = Task.Run(LoopAsync);
    }

    public static MemoryProbe Start() => new();

    public async Task<MemoryReading> StopAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        Sample();
        using var process = Process.GetCurrentProcess();
        var peak = _hwmReset ? Math.Max(process.PeakWorkingSet64, _peakWorkingSet) : _peakWorkingSet;
        return new MemoryReading(peak, _peakManaged, _peakGcHeap, GC.GetTotalAllocatedBytes(precise: false) - _allocatedAtStart, _hwmReset);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _sampler;
        }

        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                Sample();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    private void Sample()
    {
        using var process = Process.GetCurrentProcess();
        _peakWorkingSet = Math.Max(_peakWorkingSet, process.WorkingSet64);
        _peakManaged = Math.Max(_peakManaged, GC.GetTotalMemory(forceFullCollection: false));
        _peakGcHeap = Math.Max(_peakGcHeap, GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes);
    }

    private static bool TryResetHighWaterMark()
    {
        try
        {
            // "5" resets VmHWM to the current RSS (Linux 4.0+).
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }
}
