namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>
/// Hands out strictly increasing timestamps with millisecond steps, so every update gets a
/// SystemModstamp later than the previous one and incremental-sync watermarks never miss a change.
/// </summary>
public sealed class SandboxClock(TimeProvider time)
{
    private readonly Lock _gate = new();
    private DateTimeOffset _last = DateTimeOffset.MinValue;

    public TimeSpan Offset { get; set; }

    public DateTimeOffset Now => time.GetUtcNow() + Offset;

    public DateTimeOffset Next()
    {
        var now = Now;
        now = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        lock (_gate)
        {
            _last = now > _last ? now : _last.AddMilliseconds(1);
            return _last;
        }
    }

    public void Reset(TimeSpan offset)
    {
        lock (_gate)
        {
            Offset = offset;
            _last = DateTimeOffset.MinValue;
        }
    }
}
