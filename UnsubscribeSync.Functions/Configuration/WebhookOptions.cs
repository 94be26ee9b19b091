namespace UnsubscribeSync.Functions.Configuration;

/// <summary>The <c>Webhook</c> app settings (<c>Webhook__*</c>).</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhook";

    /// <summary>The app setting that names <see cref="SenderTimeZone"/>, for messages.</summary>
    public const string SenderTimeZoneSetting = "Webhook__SenderTimeZone";

    /// <summary>Largest accepted request body: 100 events with long reasons fit well inside it.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    /// <summary>Most events one request may carry.</summary>
    public const int MaxEventsPerRequest = 100;

    /// <summary>How old (or how far in the future) a signature timestamp may be.</summary>
    public static readonly TimeSpan SignatureTolerance = TimeSpan.FromSeconds(300);

    /// <summary>When set, every webhook must carry a valid <c>X-UnsubscribeSync-Signature</c>.</summary>
    public string? SigningSecret { get; set; }

    /// <summary>
    /// The secret being rotated out. Signatures made with it still pass, so a sender (or an instance
    /// whose Key Vault reference has not refreshed yet) is never rejected mid-rotation.
    /// </summary>
    public string? PreviousSigningSecret { get; set; }

    /// <summary>
    /// The IANA time zone (such as <c>America/Chicago</c>) in which a sender writes date-times without a UTC offset, as
    /// a Marketo Engage webhook renders them in its subscription's time zone. Unset, such a date-time is replaced by
    /// the time of receipt.
    /// </summary>
    public string? SenderTimeZone { get; set; }

    /// <summary>The zone <paramref name="id"/> names; null when it is empty or names no zone this machine knows.</summary>
    public static TimeZoneInfo? FindTimeZone(string? id) =>
        !string.IsNullOrWhiteSpace(id) && TimeZoneInfo.TryFindSystemTimeZoneById(id.Trim(), out var zone) ? zone : null;
}
