namespace UnsubscribeSync.Functions.Configuration;

/// <summary>The <c>Consent</c> app settings (<c>Consent__*</c>): the key of the consent API.</summary>
public sealed class ConsentOptions
{
    public const string SectionName = "Consent";

    /// <summary>The header a caller of the consent API sends its key in.</summary>
    public const string KeyHeader = "X-Consent-Key";

    /// <summary>Shortest key accepted: 32 characters of a random base64 string are about 190 bits.</summary>
    public const int MinKeyLength = 32;

    /// <summary>
    /// The consent API's own key. A Functions host key opens every function, the webhook included, so the consent
    /// endpoints, which return personal data, also demand this. Unset: the endpoints answer 404 (switched off).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The key being rotated out; requests carrying it still pass until it is removed.</summary>
    public string? PreviousApiKey { get; set; }

    /// <summary>Whether the consent API is switched on.</summary>
    public bool IsEnabled => !string.IsNullOrEmpty(ApiKey);
}
