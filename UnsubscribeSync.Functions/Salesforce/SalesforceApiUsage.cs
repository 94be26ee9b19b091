using System.Globalization;
using System.Text.RegularExpressions;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>The org's API usage as last reported by Salesforce's <c>Sforce-Limit-Info</c> header.</summary>
/// <param name="Used">Calls made in the rolling 24 hours (approximate; may briefly exceed <paramref name="Limit"/>).</param>
/// <param name="Limit">The org's daily allocation.</param>
/// <param name="ObservedAt">When the response carrying the header arrived.</param>
public sealed record ApiUsageSnapshot(long Used, long Limit, DateTimeOffset ObservedAt)
{
    /// <summary>Share of the allocation used, e.g. 0.75; can exceed 1 during a burst.</summary>
    public double Fraction => Limit <= 0 ? 1.0 : (double)Used / Limit;
}

/// <summary>
/// The latest daily API usage seen on any Salesforce response, so callers can defer non-urgent work
/// before the org's allocation runs out without spending a call on <c>/limits</c>.
/// </summary>
public interface ISalesforceApiUsage
{
    /// <summary>The most recent reading, or null before the first Salesforce response.</summary>
    ApiUsageSnapshot? Latest { get; }

    /// <summary>Share of the daily allocation used, or null before the first Salesforce response.</summary>
    double? Fraction { get; }

    /// <summary>Records a reading; called for every Salesforce response.</summary>
    void Record(long used, long limit);

    /// <summary>
    /// When a successful data API answer last came without the header (a proxy that strips it, an org that does
    /// not send it), or null: while null, the next call's answer is expected to bring a reading.
    /// </summary>
    DateTimeOffset? UnreportedAt { get; }

    /// <summary>Records a successful data API answer that carried no usage.</summary>
    void RecordUnreported();
}

/// <summary>Process-wide holder of the latest <see cref="ApiUsageSnapshot"/>.</summary>
public sealed partial class SalesforceApiUsage(TimeProvider timeProvider) : ISalesforceApiUsage
{
    /// <summary>The response header Salesforce reports usage in.</summary>
    public const string HeaderName = "Sforce-Limit-Info";

    private ApiUsageSnapshot? _latest;
    private long _unreportedAtTicks;

    public ApiUsageSnapshot? Latest => Volatile.Read(ref _latest);

    public double? Fraction => Latest?.Fraction;

    public DateTimeOffset? UnreportedAt => Volatile.Read(ref _unreportedAtTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    public void Record(long used, long limit)
    {
        Volatile.Write(ref _latest, new ApiUsageSnapshot(used, limit, timeProvider.GetUtcNow()));
    }

    public void RecordUnreported() => Volatile.Write(ref _unreportedAtTicks, timeProvider.GetUtcNow().UtcTicks);

    /// <summary>
    /// Parses a header value such as <c>api-usage=18/5000</c> or
    /// <c>api-usage=10018/100000; api-bursts=1/750</c>; other parts are ignored.
    /// </summary>
    public static bool TryParse(string? headerValue, out long used, out long limit)
    {
        used = 0;
        limit = 0;
        if (string.IsNullOrEmpty(headerValue))
        {
            return false;
        }

        var match = ApiUsagePattern().Match(headerValue);
        return match.Success
            && long.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out used)
            && long.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out limit);
    }

    // "api-usage" must not match inside "per-app-api-usage=17/250(appName=...)".
    [GeneratedRegex(@"(?:^|[;,\s])api-usage=(\d+)/(\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex ApiUsagePattern();
}
