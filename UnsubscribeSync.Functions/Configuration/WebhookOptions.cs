namespace UnsubscribeSync.Functions.Configuration;

/// <summary>The <c>Webhook</c> app settings (<c>Webhook__*</c>).</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Webhook";

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
}
