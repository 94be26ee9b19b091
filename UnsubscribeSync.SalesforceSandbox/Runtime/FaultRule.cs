using UnsubscribeSync.SalesforceSandbox.Model;

namespace UnsubscribeSync.SalesforceSandbox.Runtime;

/// <summary>
/// An injected failure: which calls it matches (a kind or <c>any</c>, optionally one record), what it
/// answers, and how many more times it fires (null = forever).
/// </summary>
public sealed class FaultRule
{
    public required string Match { get; init; }

    public required int Status { get; init; }

    public required string ErrorCode { get; init; }

    public string? Message { get; init; }

    public int? Count { get; set; }

    public string? RecordId { get; init; }

    public SalesforceError ToError() => new(Status, ErrorCode, Message ?? ErrorCode, []);

    public bool Matches(ApiKind kind) =>
        string.Equals(Match, "any", StringComparison.OrdinalIgnoreCase)
        || string.Equals(Match, kind.ToString(), StringComparison.OrdinalIgnoreCase);
}
