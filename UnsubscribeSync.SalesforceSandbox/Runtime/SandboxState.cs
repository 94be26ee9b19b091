using Microsoft.Extensions.Options;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Runtime;

/// <summary>
/// The settings in force now, the daily API usage counter and when each object's metadata last changed.
/// Settings are copied on write so a request sees one consistent set.
/// </summary>
public sealed class SandboxState
{
    private readonly SandboxSettings _startup;
    private readonly SandboxClock _clock;
    private readonly Lock _gate = new();
    private SandboxSettings _current;
    private int _apiUsage;
    private Dictionary<string, DateTimeOffset> _metadataModified = [];

    public SandboxState(IOptions<SandboxSettings> options, SandboxClock clock)
    {
        _startup = options.Value.Clone();
        _clock = clock;
        _current = _startup.Clone();
        _apiUsage = _startup.ApiUsage;
        _clock.Reset(TimeSpan.FromSeconds(_startup.ClockOffsetSeconds));
        _metadataModified = AllModifiedNow();
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
            // A reset may change any object's fields, so every describe answers afresh.
            Volatile.Write(ref _metadataModified, AllModifiedNow());
        }
    }

    /// <summary>
    /// When the object's metadata (its fields as the integration user sees them) last changed, in whole seconds as
    /// HTTP dates carry it: what describe answers as <c>Last-Modified</c> and compares <c>If-Modified-Since</c> with.
    /// </summary>
    public DateTimeOffset MetadataModifiedAt(string type) => Volatile.Read(ref _metadataModified).GetValueOrDefault(type);

    public void Update(Action<SandboxSettings> change, int? apiUsage)
    {
        lock (_gate)
        {
            var previous = _current;
            var next = _current.Clone();
            change(next);
            Volatile.Write(ref _current, next);
            _clock.Offset = TimeSpan.FromSeconds(next.ClockOffsetSeconds);
            Volatile.Write(ref _metadataModified, ModifiedAfter(previous, next));
            if (apiUsage is { } usage)
            {
                Volatile.Write(ref _apiUsage, usage);
            }
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

    private Dictionary<string, DateTimeOffset> AllModifiedNow()
    {
        var now = WholeSeconds(_clock.Now);
        return new() { [ObjectSchema.Contact] = now, [ObjectSchema.Lead] = now, [ObjectSchema.Account] = now };
    }

    /// <summary>
    /// Moves the time of each object whose visible fields differ between the two settings. A change is always dated
    /// at least a second after the previous one, so a client holding the previous <c>Last-Modified</c> never gets a
    /// 304 for a change made within the same second.
    /// </summary>
    private Dictionary<string, DateTimeOffset> ModifiedAfter(SandboxSettings previous, SandboxSettings next)
    {
        var modified = new Dictionary<string, DateTimeOffset>(_metadataModified);
        foreach (var type in new[] { ObjectSchema.Contact, ObjectSchema.Lead, ObjectSchema.Account })
        {
            if (Signature(ObjectSchema.For(type, previous)) != Signature(ObjectSchema.For(type, next)))
            {
                var last = modified.GetValueOrDefault(type);
                var now = WholeSeconds(_clock.Now);
                modified[type] = now > last ? now : last.AddSeconds(1);
            }
        }

        return modified;
    }

    private static string Signature(ObjectSchema schema) =>
        string.Join('|', schema.Fields.Select(f => $"{f.Name}:{f.TypeName}:{f.Updateable}:{f.Label}"));

    private static DateTimeOffset WholeSeconds(DateTimeOffset value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
