using System.ComponentModel.DataAnnotations;

namespace UnsubscribeSync.Functions.Configuration;

/// <summary>The <c>Admin</c> app settings (<c>Admin__*</c>): the key of the administrator's endpoints and the ledger census.</summary>
public sealed class AdminOptions
{
    public const string SectionName = "Admin";

    /// <summary>The header a caller of the admin endpoints sends its key in.</summary>
    public const string KeyHeader = "X-Admin-Key";

    /// <summary>The query parameter the status page also accepts the key in, because a browser cannot add a header to a link.</summary>
    public const string KeyQuery = "key";

    /// <summary>Shortest key accepted: 32 characters of a random base64 string are about 190 bits.</summary>
    public const int MinKeyLength = 32;

    /// <summary>
    /// The admin endpoints' own key (status, status page). A function key opens every function and the webhook's callers
    /// hold one, so these endpoints also demand this. Unset: they answer 404 (switched off).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The key being rotated out; requests carrying it still pass until it is removed.</summary>
    public string? PreviousApiKey { get; set; }

    /// <summary>Ledger rows the census reads per Table query page.</summary>
    [Range(10, 1000, ErrorMessage = "Admin:CensusPageSize must be between 10 and 1000.")]
    public int CensusPageSize { get; set; } = 1000;

    /// <summary>Query pages one census tick reads before it saves its place and stops (bounded work per invocation).</summary>
    [Range(1, 1000, ErrorMessage = "Admin:CensusPagesPerTick must be between 1 and 1000.")]
    public int CensusPagesPerTick { get; set; } = 100;

    /// <summary>How many days of nightly runs the status reports and draws.</summary>
    [Range(1, 90, ErrorMessage = "Admin:StatusRunDays must be between 1 and 90.")]
    public int StatusRunDays { get; set; } = 30;

    public bool IsEnabled => !string.IsNullOrEmpty(ApiKey);
}
