using Microsoft.Extensions.Options;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Runtime;

/// <summary>
/// The settings in force now and the daily API usage counter. Settings are copied on write so a
/// request sees one consistent set.
/// </summary>
public sealed class SandboxState
{
    private readonly SandboxSettings _startup;
    private readonly SandboxClock _clock;
    private readonly Lock _gate = new();
    private SandboxSettings _current;
    private int _apiUsage;

    public SandboxState(IOptions<SandboxSettings> options, SandboxClock clock)
    {
        _startup = options.Value.Clone();
        _clock = clock;
        _current = _startup.Clone();
        _apiUsage = _startup.ApiUsage;
        _clock.Reset(TimeSpan.FromSeconds(_startup.ClockOffsetSeconds));
    }

    public SandboxSettings Settings => Volatile.Read(ref _current);

    public int ApiUsage => Volatile.Read(ref _apiUsage);

    public void Reset()
    {
        lock (_gate)
        {
            Volatile.Write(ref _current, _startup.Clone());
            Volatile.Write(ref _apiUsage, _startup.ApiUsage);
            _clock.Reset(TimeSpan.FromSeconds(_startup.ClockOffsetSeconds));
        }
    }

    public void Update(Action<SandboxSettings> change, int? apiUsage)
    {
        lock (_gate)
        {
            var next = _current.Clone();
            change(next);
            Volatile.Write(ref _current, next);
            if (apiUsage is { } usage)
            {
                Volatile.Write(ref _apiUsage, usage);
            }

            _clock.Offset = TimeSpan.FromSeconds(next.ClockOffsetSeconds);
        }
    }

    /// <summary>Counts one API call unless the daily allocation is used up.</summary>
    public bool TryConsumeApiCall(out int used, out int limit)
    {
        limit = Settings.DailyApiLimit;
        while (true)
        {
            var current = Volatile.Read(ref _apiUsage);
            if (current >= limit)
            {
                used = current;
                return false;
            }

            if (Interlocked.CompareExchange(ref _apiUsage, current + 1, current) == current)
            {
                used = current + 1;
                return true;
            }
        }
    }
}
