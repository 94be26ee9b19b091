using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace UnsubscribeSync.Functions.Ledger;

/// <summary>
/// The audit chain's file format. A day's chain is the blobs <c>{yyyy-MM-dd}/{00000}.jsonl</c>, … in name order;
/// each line is <c>{"n":N,"prev":"&lt;hex&gt;","entry":{…}}</c> and a newline, where <c>n</c> counts the day's lines
/// from 1 and <c>prev</c> is the lowercase hex SHA-256 of the previous line's UTF-8 bytes (without its newline),
/// across blob boundaries. The day's first line carries <see cref="Genesis"/> of that day.
/// </summary>
public static class AuditChainFormat
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The <c>prev</c> of a day's first line: SHA-256 of "UnsubscribeSync audit chain genesis yyyy-MM-dd".</summary>
    public static string Genesis(DateOnly day) => HashOf(Encoding.UTF8.GetBytes($"UnsubscribeSync audit chain genesis {DayName(day)}"));

    public static string DayName(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The blob holding segment <paramref name="segment"/> of a day's chain.</summary>
    public static string BlobName(DateOnly day, int segment) => $"{DayName(day)}/{segment.ToString("D5", CultureInfo.InvariantCulture)}.jsonl";

    /// <summary>The segment number of a blob of the day, or null for a name that is not one.</summary>
    public static int? SegmentOf(string blobName)
    {
        var slash = blobName.LastIndexOf('/');
        var file = blobName[(slash + 1)..];
        return file.EndsWith(".jsonl", StringComparison.Ordinal)
            && int.TryParse(file[..^".jsonl".Length], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
            ? segment
            : null;
    }

    /// <summary>Lowercase hex SHA-256.</summary>
    public static string HashOf(ReadOnlySpan<byte> line) => Convert.ToHexStringLower(SHA256.HashData(line));

    /// <summary>The day an entry belongs to: the UTC date it was recorded.</summary>
    public static DateOnly DayOf(AuditEntity entry) => DateOnly.FromDateTime(entry.RecordedAt.UtcDateTime);

    /// <summary>The entry's identity in the chain, the same as in the Audit table.</summary>
    public static string IdOf(string partitionKey, string rowKey) => partitionKey + "|" + rowKey;

    /// <summary>The entry as the JSON object a line carries (every field of the Audit row).</summary>
    public static string EntryJson(AuditEntity entry) => JsonSerializer.Serialize(
        new ChainEntry(
            entry.PartitionKey, entry.RowKey, entry.Kind, entry.EventId, entry.Type, entry.Source, entry.Channel, entry.OccurredAt,
            entry.RecordedAt, entry.ReceivedAt, entry.Reason, entry.SalesforceId, entry.Records, entry.Outcome, entry.Detail),
        Json);

    /// <summary>One line, without its newline.</summary>
    public static byte[] Line(long sequence, string previous, string entryJson) =>
        Encoding.UTF8.GetBytes($"{{\"n\":{sequence.ToString(CultureInfo.InvariantCulture)},\"prev\":\"{previous}\",\"entry\":{entryJson}}}");

    /// <summary>Reads a line's <c>n</c>, <c>prev</c> and entry id; null when it is not a chain line.</summary>
    public static ParsedLine? Parse(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("n", out var n) || !n.TryGetInt64(out var sequence)
                || !root.TryGetProperty("prev", out var prev) || prev.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("entry", out var entry) || entry.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var id = entry.TryGetProperty("pk", out var pk) && entry.TryGetProperty("rk", out var rk)
                ? IdOf(pk.GetString() ?? string.Empty, rk.GetString() ?? string.Empty)
                : string.Empty;
            return new ParsedLine(sequence, prev.GetString()!, id);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What the verifier and the writer need of a line.</summary>
    public sealed record ParsedLine(long Sequence, string Previous, string EntryId);

    // Short names keep a line small; the order of the fields is the order of this record.
    private sealed record ChainEntry(
        [property: JsonPropertyName("pk")] string PartitionKey,
        [property: JsonPropertyName("rk")] string RowKey,
        [property: JsonPropertyName("kind")] string Kind,
        [property: JsonPropertyName("eventId")] string? EventId,
        [property: JsonPropertyName("type")] string? Type,
        [property: JsonPropertyName("source")] string? Source,
        [property: JsonPropertyName("channel")] string Channel,
        [property: JsonPropertyName("occurredAt")] DateTimeOffset? OccurredAt,
        [property: JsonPropertyName("recordedAt")] DateTimeOffset RecordedAt,
        [property: JsonPropertyName("receivedAt")] DateTimeOffset? ReceivedAt,
        [property: JsonPropertyName("reason")] string? Reason,
        [property: JsonPropertyName("salesforceId")] string? SalesforceId,
        [property: JsonPropertyName("records")] string? Records,
        [property: JsonPropertyName("outcome")] string Outcome,
        [property: JsonPropertyName("detail")] string? Detail);
}
