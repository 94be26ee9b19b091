namespace UnsubscribeSync.Functions.Configuration;

/// <summary>The <c>Notify</c> app settings (<c>Notify__*</c>): signed notifications of consent changes to the sender.</summary>
public sealed class NotifyOptions
{
    public const string SectionName = "Notify";

    /// <summary>The header our notifications carry their signature in: the same header and scheme our webhook checks.</summary>
    public const string SignatureHeader = "X-UnsubscribeSync-Signature";

    /// <summary>
    /// Where every consent change the sender did not make itself is POSTed (https; plain http only for a loopback
    /// host, for local testing). Unset: no notifications are sent; the change feed still has every change.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>The HMAC-SHA256 secret notifications are signed with; required with <see cref="Url"/>.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>How long one POST may take before it counts as failed.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of a failed POST within one queue attempt (the queue then retries the message itself).</summary>
    public int MaxRetryAttempts { get; set; } = 2;

    /// <summary>First delay between those retries; it grows exponentially, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether notifications are switched on.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(Url);

    /// <summary>The parsed <see cref="Url"/>; only valid when <see cref="IsEnabled"/> (validated on start).</summary>
    public Uri Endpoint => new(Url!, UriKind.Absolute);
}
