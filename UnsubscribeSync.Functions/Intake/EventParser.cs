using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>
/// Parses and validates the webhook body: one event object, or <c>{"unsubscribes": [...]}</c>.
/// Property names are matched case-insensitively and unknown properties are ignored, so callers
/// can add fields without breaking us. Every bad field is reported, not just the first.
/// </summary>
/// <remarks>
/// Senders rarely retry a 4xx, so one bad field must not cost the other events of a batch: an event
/// with a usable <c>id</c> and <c>email</c> is always recorded, its unusable optional fields dropped
/// or clipped and reported as warnings; an event whose <c>id</c> or <c>email</c> is unusable is
/// rejected on its own, and so is a resubscribe without a usable <c>occurredAt</c> or a <c>reason</c>.
/// Only a problem with the request as a whole rejects everything.
/// </remarks>
public sealed partial class EventParser(TimeProvider timeProvider)
{
    public const int MaxIdLength = 128;
    public const int MaxReasonLength = 1000;
    private static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    // Senders fill an unknown time with their platform's zero value (0001-01-01, 1900-01-01, 1970-01-01), which is
    // nobody's unsubscribe; and Table storage refuses a date before 1601, which would stop the intake half-way.
    private static readonly DateTimeOffset EarliestOccurredAt = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const string AwaitsId = "the event was recorded without it and awaits a Salesforce Id";
    private const string ReceiptTimeUsed = "the time of receipt was used instead";
    private const string Dropped = "it was dropped";
    private const string ResubscribeNeedsTime = "is required for a resubscribe: when the person asked to be opted back in, ISO-8601 with a UTC offset, from 2000 to at most 5 minutes in the future";
    private const string ResubscribeNeedsReason = "is required for a resubscribe: why the person was opted back in";
    private const string BrokenText = "contains invalid UTF-8 or an unpaired surrogate (a character cut in half)";

    /// <summary>Parses a raw UTF-8 JSON body. Malformed JSON is reported under the key <c>body</c>.</summary>
    public ParseResult Parse(ReadOnlyMemory<byte> body)
    {
        // Some senders' UTF-8 writers (PowerShell, .NET's Encoding.UTF8) emit a byte order mark;
        // RFC 8259 lets a parser ignore it, and the signature was already checked over the raw bytes.
        if (body.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            body = body[3..];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" (line {line + 1}, position {ex.BytePositionInLine + 1})" : string.Empty;
            return ParseResult.RequestError("body", $"is not valid JSON{where}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return ParseResult.RequestError("body", "must be a JSON object: one event, or {\"unsubscribes\": [...]}");
            }

            var receivedAt = timeProvider.GetUtcNow();
            var results = new Results();
            if (TryGetProperty(root, "unsubscribes", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    return ParseResult.RequestError("unsubscribes", "must be an array of events");
                }

                var count = list.GetArrayLength();
                if (count == 0)
                {
                    return ParseResult.RequestError("unsubscribes", "must contain at least one event");
                }

                if (count > WebhookOptions.MaxEventsPerRequest)
                {
                    return ParseResult.RequestError("unsubscribes", $"must contain at most {WebhookOptions.MaxEventsPerRequest} events; it has {count}");
                }

                var index = 0;
                foreach (var item in list.EnumerateArray())
                {
                    ParseEvent(item, index, $"unsubscribes[{index}]", receivedAt, results);
                    index++;
                }
            }
            else
            {
                ParseEvent(root, 0, string.Empty, receivedAt, results);
            }

            return new ParseResult(results.Events, results.Rejected, results.Warnings, new Dictionary<string, string[]>());
        }
    }

    private void ParseEvent(JsonElement element, int index, string path, DateTimeOffset receivedAt, Results results)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            results.Rejected.Add(new EventRejection(index, null, new Dictionary<string, string[]> { [path] = ["must be an event object"] }));
            return;
        }

        var problems = new EventProblems(path.Length == 0 ? string.Empty : path + ".");

        string? id = null;
        var idRaw = ReadString(element, "id", problems, required: true, Dropped);
        if (idRaw is not null)
        {
            if (IsValidId(idRaw))
            {
                id = idRaw;
            }
            else
            {
                problems.Reject("id", $"must be 1 to {MaxIdLength} printable ASCII characters");
            }
        }

        EmailAddress? email = null;
        var emailRaw = ReadString(element, "email", problems, required: true, Dropped);
        if (emailRaw is not null && !EmailAddress.TryCreate(emailRaw, out email, out var emailError))
        {
            problems.Reject("email", emailError);
        }

        // An unsubscribe is the safe direction: recording an unknown type as a resubscribe could opt
        // someone back in who never asked for it.
        const string AsUnsubscribe = "it was recorded as an unsubscribe";
        var type = ConsentEventType.Unsubscribe;
        var typeRaw = ReadOptional(element, "type", problems, AsUnsubscribe);
        switch (typeRaw?.Trim().ToLowerInvariant())
        {
            case null or "unsubscribe":
                break;
            case "resubscribe":
                type = ConsentEventType.Resubscribe;
                break;
            default:
                problems.Drop("type", "must be \"unsubscribe\" or \"resubscribe\"", AsUnsubscribe);
                break;
        }

        SalesforceId? salesforceId = null;
        var sfRaw = ReadOptional(element, "salesforceId", problems, AwaitsId)?.Trim();
        if (sfRaw is not null)
        {
            if (SalesforceId.TryParse(sfRaw, out var parsedId, out var idError))
            {
                salesforceId = parsedId;
            }
            else if (sfRaw.Length is 15 or 18 && sfRaw.StartsWith("001", StringComparison.Ordinal) && sfRaw.All(char.IsAsciiLetterOrDigit))
            {
                problems.Drop("salesforceId", "is an Account Id (001): Person Accounts are not supported yet", "the event was recorded without it and awaits a Contact or Lead Id");
            }
            else
            {
                problems.Drop("salesforceId", idError, AwaitsId);
            }
        }

        var occurredAt = receivedAt;
        var occurredGiven = false;
        var occurredRaw = ReadOptional(element, "occurredAt", problems, ReceiptTimeUsed)?.Trim();
        if (occurredRaw is not null)
        {
            if (!IsoWithOffset().IsMatch(occurredRaw)
                || !DateTimeOffset.TryParse(occurredRaw, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsedAt))
            {
                problems.Drop("occurredAt", "must be an ISO-8601 date and time with a UTC offset, such as 2026-11-28T10:00:00Z", ReceiptTimeUsed);
            }
            else if (parsedAt > receivedAt + FutureTolerance)
            {
                // A future time would win the ordering rule against every real event until it passed.
                problems.Drop("occurredAt", "must not be more than 5 minutes in the future", ReceiptTimeUsed);
            }
            else if (parsedAt < EarliestOccurredAt)
            {
                problems.Drop("occurredAt", "must not be before 2000-01-01 (a placeholder date is not when it happened)", ReceiptTimeUsed);
            }
            else
            {
                occurredAt = parsedAt;
                occurredGiven = true;
            }
        }

        // Only an admin resubscribes someone, deliberately: the receipt time would be a guess at when, and
        // a guess must never be what orders a resubscribe after a real unsubscribe.
        var resubscribe = type == ConsentEventType.Resubscribe;
        if (resubscribe && !occurredGiven)
        {
            problems.Reject("occurredAt", ResubscribeNeedsTime);
        }

        string? source = null;
        var sourceRaw = ReadOptional(element, "source", problems, Dropped)?.Trim().ToLowerInvariant();
        if (sourceRaw is not null)
        {
            if (ConsentEvent.Sources.Contains(sourceRaw))
            {
                source = sourceRaw;
            }
            else
            {
                problems.Drop("source", "must be one of: " + string.Join(", ", ConsentEvent.Sources), Dropped);
            }
        }

        var reason = ReadString(element, "reason", problems, required: false, Dropped, keepRepaired: true);
        if (reason is not null && reason.Length > MaxReasonLength)
        {
            reason = Clip(reason, MaxReasonLength);
            problems.Drop("reason", $"must be at most {MaxReasonLength} characters", $"it was clipped to {MaxReasonLength}");
        }

        // Opting someone back in is the one change the audit must be able to justify.
        if (resubscribe && string.IsNullOrWhiteSpace(reason))
        {
            problems.Reject("reason", ResubscribeNeedsReason);
        }

        if (problems.Errors.Count > 0 || id is null || email is null)
        {
            results.Rejected.Add(new EventRejection(index, id, problems.AllAsErrors()));
            return;
        }

        results.Events.Add(new ConsentEvent(id, type, email, salesforceId, occurredAt.ToUniversalTime(), receivedAt, source, reason));
        foreach (var (field, rule, consequence) in problems.Unusable)
        {
            results.Warnings.Add(new EventWarning(index, id, field, $"{rule}; {consequence}"));
        }
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

    // Never splits a surrogate pair: half of one would be a broken character in storage.
    private static string Clip(string text, int length) =>
        char.IsHighSurrogate(text[length - 1]) ? text[..(length - 1)] : text[..length];

    // Optional fields that are empty mean "not given": senders often fill a template with blanks.
    private static string? ReadOptional(JsonElement element, string name, EventProblems problems, string consequence)
    {
        var text = ReadString(element, name, problems, required: false, consequence);
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    private static string? ReadString(JsonElement element, string name, EventProblems problems, bool required, string consequence, bool keepRepaired = false)
    {
        if (!TryGetProperty(element, name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                problems.Reject(name, "is required");
            }

            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            problems.Problem(name, "must be a string", consequence, required);
            return null;
        }

        var text = JsonText.Read(value, out var repaired);
        if (repaired && !keepRepaired)
        {
            // A repaired id or email would name a different event or person than the sender meant,
            // and no other field's rules accept U+FFFD: only free text is worth keeping.
            problems.Problem(name, BrokenText, consequence, required);
            return null;
        }

        if (repaired)
        {
            problems.Drop(name, BrokenText, "each broken character was replaced with U+FFFD");
        }

        if (required && text.Trim().Length == 0)
        {
            problems.Reject(name, "is required");
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
            if (string.Equals(JsonText.NameOf(property), name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                found = true;
            }
        }

        return found;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoWithOffset();

    private sealed class Results
    {
        public List<ConsentEvent> Events { get; } = [];

        public List<EventRejection> Rejected { get; } = [];

        public List<EventWarning> Warnings { get; } = [];
    }

    /// <summary>One event's problems: fatal ones (id, email) and unusable optional fields.</summary>
    private sealed class EventProblems(string prefix)
    {
        public List<(string Field, string Message)> Errors { get; } = [];

        public List<(string Field, string Rule, string Consequence)> Unusable { get; } = [];

        public void Reject(string name, string message) => Errors.Add((prefix + name, message));

        public void Drop(string name, string rule, string consequence) => Unusable.Add((prefix + name, rule, consequence));

        public void Problem(string name, string rule, string consequence, bool fatal)
        {
            if (fatal)
            {
                Reject(name, rule);
            }
            else
            {
                Drop(name, rule, consequence);
            }
        }

        // A rejected event reports every bad field, so the sender can fix them all in one resend.
        public IReadOnlyDictionary<string, string[]> AllAsErrors() =>
            Errors.Concat(Unusable.Select(u => (u.Field, Message: u.Rule)))
                .GroupBy(e => e.Field, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal);
    }
}
