using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>The outcome of parsing a webhook body: events, or every problem found with their field paths.</summary>
public sealed record ParseResult(IReadOnlyList<ConsentEvent> Events, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>
/// Parses and validates the webhook body: one event object, or <c>{"unsubscribes": [...]}</c>.
/// Property names are matched case-insensitively and unknown properties are ignored, so callers
/// can add fields without breaking us. Every bad field is reported, not just the first.
/// </summary>
public sealed partial class EventParser(TimeProvider timeProvider)
{
    public const int MaxIdLength = 128;
    public const int MaxReasonLength = 1000;
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    /// <summary>Parses a raw UTF-8 JSON body. Malformed JSON is reported under the key <c>body</c>.</summary>
    public ParseResult Parse(ReadOnlyMemory<byte> body)
    {
        var errors = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var events = new List<ConsentEvent>();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" (line {line + 1}, position {ex.BytePositionInLine + 1})" : string.Empty;
            return Fail("body", $"is not valid JSON{where}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Fail("body", "must be a JSON object: one event, or {\"unsubscribes\": [...]}");
            }

            var receivedAt = timeProvider.GetUtcNow();
            if (TryGetProperty(root, "unsubscribes", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    return Fail("unsubscribes", "must be an array of events");
                }

                var count = list.GetArrayLength();
                if (count == 0)
                {
                    return Fail("unsubscribes", "must contain at least one event");
                }

                if (count > WebhookOptions.MaxEventsPerRequest)
                {
                    return Fail("unsubscribes", $"must contain at most {WebhookOptions.MaxEventsPerRequest} events; it has {count}");
                }

                var index = 0;
                foreach (var item in list.EnumerateArray())
                {
                    var parsed = ParseEvent(item, $"unsubscribes[{index}].", receivedAt, errors);
                    if (parsed is not null)
                    {
                        events.Add(parsed);
                    }

                    index++;
                }
            }
            else
            {
                var parsed = ParseEvent(root, string.Empty, receivedAt, errors);
                if (parsed is not null)
                {
                    events.Add(parsed);
                }
            }
        }

        return errors.Count > 0
            ? new ParseResult([], errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal))
            : new ParseResult(events, new Dictionary<string, string[]>());

        static ParseResult Fail(string field, string message) =>
            new([], new Dictionary<string, string[]> { [field] = [message] });
    }

    private ConsentEvent? ParseEvent(JsonElement element, string prefix, DateTimeOffset receivedAt, Dictionary<string, List<string>> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            Add(errors, prefix.TrimEnd('.'), "must be an event object");
            return null;
        }

        var before = errors.Count;

        var id = ReadString(element, "id", prefix, required: true, errors);
        if (id is not null && !IsValidId(id))
        {
            Add(errors, prefix + "id", $"must be 1 to {MaxIdLength} printable ASCII characters");
        }

        var emailRaw = ReadString(element, "email", prefix, required: true, errors);
        EmailAddress? email = null;
        if (emailRaw is not null && !EmailAddress.TryCreate(emailRaw, out email, out var emailError))
        {
            Add(errors, prefix + "email", emailError);
        }

        var type = ConsentEventType.Unsubscribe;
        var typeRaw = ReadString(element, "type", prefix, required: false, errors);
        if (typeRaw is not null)
        {
            switch (typeRaw.Trim().ToLowerInvariant())
            {
                case "unsubscribe":
                    type = ConsentEventType.Unsubscribe;
                    break;
                case "resubscribe":
                    type = ConsentEventType.Resubscribe;
                    break;
                default:
                    Add(errors, prefix + "type", "must be \"unsubscribe\" or \"resubscribe\"");
                    break;
            }
        }

        SalesforceId? salesforceId = null;
        var idRaw = ReadString(element, "salesforceId", prefix, required: false, errors);
        if (idRaw is not null)
        {
            if (SalesforceId.TryParse(idRaw.Trim(), out var parsedId, out var idError))
            {
                salesforceId = parsedId;
            }
            else
            {
                Add(errors, prefix + "salesforceId", idError);
            }
        }

        var occurredAt = receivedAt;
        var occurredRaw = ReadString(element, "occurredAt", prefix, required: false, errors);
        if (occurredRaw is not null)
        {
            if (!IsoWithOffset().IsMatch(occurredRaw)
                || !DateTimeOffset.TryParse(occurredRaw, CultureInfo.InvariantCulture, DateTimeStyles.None, out occurredAt))
            {
                Add(errors, prefix + "occurredAt", "must be an ISO-8601 date and time with a UTC offset, such as 2026-11-28T10:00:00Z");
            }
            else if (occurredAt > receivedAt + FutureTolerance)
            {
                Add(errors, prefix + "occurredAt", "must not be more than 5 minutes in the future");
            }
        }

        string? source = null;
        var sourceRaw = ReadString(element, "source", prefix, required: false, errors);
        if (sourceRaw is not null)
        {
            source = sourceRaw.Trim().ToLowerInvariant();
            if (!ConsentEvent.Sources.Contains(source))
            {
                Add(errors, prefix + "source", "must be one of: " + string.Join(", ", ConsentEvent.Sources));
            }
        }

        var reason = ReadString(element, "reason", prefix, required: false, errors);
        if (reason is not null && reason.Length > MaxReasonLength)
        {
            Add(errors, prefix + "reason", $"must be at most {MaxReasonLength} characters");
        }

        if (errors.Count != before || id is null || email is null)
        {
            return null;
        }

        return new ConsentEvent(id, type, email, salesforceId, occurredAt.ToUniversalTime(), receivedAt, source, reason);
    }

    private static bool IsValidId(string id)
    {
        if (id.Length is 0 or > MaxIdLength || string.IsNullOrWhiteSpace(id))
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    private static string? ReadString(JsonElement element, string name, string prefix, bool required, Dictionary<string, List<string>> errors)
    {
        if (!TryGetProperty(element, name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                Add(errors, prefix + name, "is required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            Add(errors, prefix + name, "must be a string");
            return null;
        }

        var text = value.GetString()!;
        if (required && text.Trim().Length == 0)
        {
            Add(errors, prefix + name, "is required");
            return null;
        }

        return text;
    }

    // Property names are case-insensitive; the last of several spellings wins, as in System.Text.Json.
    private static bool TryGetProperty(JsonElement element, string name, out JsonElement value)
    {
        var found = false;
        value = default;
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                found = true;
            }
        }

        return found;
    }

    private static void Add(Dictionary<string, List<string>> errors, string field, string message)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }

        list.Add(message);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoWithOffset();
}
