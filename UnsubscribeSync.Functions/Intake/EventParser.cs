using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
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
/// <para>
/// An event that carries <c>marketoLeadId</c> was rendered by a Marketo Engage webhook, which can send neither an
/// event id nor an offset and may HTML-encode its tokens (see the README's "Marketo Engage webhooks"). For such an
/// event a missing <c>id</c> is derived (<see cref="DeriveMarketoId"/>), string values are HTML-decoded, and a
/// date-time without an offset is its documented form rather than a problem. A date-time without an offset is read
/// in <see cref="WebhookOptions.SenderTimeZone"/> when that is set, for every sender; otherwise the time of receipt
/// stands in for it.
/// </para>
/// </remarks>
public sealed partial class EventParser(TimeProvider timeProvider, IOptions<WebhookOptions> options)
{
    public const int MaxIdLength = 128;
    public const int MaxReasonLength = 1000;

    /// <summary>The property whose presence marks an event rendered by a Marketo Engage webhook.</summary>
    public const string MarketoLeadIdProperty = "marketoLeadId";

    /// <summary>The prefix of event ids derived for Marketo Engage events.</summary>
    public const string MarketoIdPrefix = "mkto-";

    private static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);
    private readonly TimeZoneInfo? _senderZone = WebhookOptions.FindTimeZone(options.Value.SenderTimeZone);

    /// <summary>A parser with the default webhook settings (no sender time zone).</summary>
    public EventParser(TimeProvider timeProvider)
        : this(timeProvider, Options.Create(new WebhookOptions()))
    {
    }

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
        var marketo = TryGetProperty(element, MarketoLeadIdProperty, out var leadIdElement) && leadIdElement.ValueKind != JsonValueKind.Null;
        var reader = new FieldReader(element, problems, marketo);
        var leadId = marketo ? ReadMarketoLeadId(leadIdElement, problems) : null;

        // A Marketo webhook has no event-id token: its template leaves id out, and the id is derived below once the
        // address and the time are known. One it does send but we cannot use is replaced the same way.
        const string Derived = "an id was derived instead";
        string? id = null;
        var idRaw = marketo ? reader.Optional("id", Derived) : reader.String("id", required: true, Dropped);
        if (idRaw is not null)
        {
            if (IsValidId(idRaw))
            {
                id = idRaw;
            }
            else if (marketo)
            {
                problems.Drop("id", $"must be 1 to {MaxIdLength} printable ASCII characters", Derived);
            }
            else
            {
                problems.Reject("id", $"must be 1 to {MaxIdLength} printable ASCII characters");
            }
        }

        EmailAddress? email = null;
        var emailRaw = reader.String("email", required: true, Dropped);
        if (emailRaw is not null && !EmailAddress.TryCreate(emailRaw, out email, out var emailError))
        {
            problems.Reject("email", emailError);
        }

        // An unsubscribe is the safe direction: recording an unknown type as a resubscribe could opt
        // someone back in who never asked for it.
        const string AsUnsubscribe = "it was recorded as an unsubscribe";
        ConsentEventType? declared = null;
        var typeRaw = reader.Optional("type", AsUnsubscribe);
        switch (typeRaw?.Trim().ToLowerInvariant())
        {
            case null:
                break;
            case "unsubscribe":
                declared = ConsentEventType.Unsubscribe;
                break;
            case "resubscribe":
                declared = ConsentEventType.Resubscribe;
                break;
            default:
                problems.Drop("type", "must be \"unsubscribe\" or \"resubscribe\"", AsUnsubscribe);
                declared = ConsentEventType.Unsubscribe;
                break;
        }

        // The person's state as a boolean (Marketo's {{lead.Unsubscribed}}), another way to say the type.
        var unsubscribed = ReadBoolean(element, "unsubscribed", problems, AsUnsubscribe, marketo);
        var type = declared ?? (unsubscribed == false ? ConsentEventType.Resubscribe : ConsentEventType.Unsubscribe);
        if (declared is { } given && unsubscribed is { } flag && flag != (given == ConsentEventType.Unsubscribe))
        {
            problems.Drop("unsubscribed", $"contradicts \"type\": \"{(given == ConsentEventType.Unsubscribe ? "unsubscribe" : "resubscribe")}\"", AsUnsubscribe);
            type = ConsentEventType.Unsubscribe;
        }

        SalesforceId? salesforceId = null;
        var sfRaw = reader.Optional("salesforceId", AwaitsId)?.Trim();
        if (sfRaw is not null)
        {
            if (SalesforceId.TryParse(sfRaw, out var parsedId, out var idError))
            {
                salesforceId = parsedId;
            }
            else
            {
                problems.Drop("salesforceId", idError, AwaitsId);
            }
        }

        var occurredRaw = reader.Optional("occurredAt", ReceiptTimeUsed)?.Trim();
        var occurredGiven = ReadOccurredAt(occurredRaw, receivedAt, marketo, problems, out var occurredAt);

        // Only an admin resubscribes someone, deliberately: the receipt time would be a guess at when, and
        // a guess must never be what orders a resubscribe after a real unsubscribe.
        var resubscribe = type == ConsentEventType.Resubscribe;
        if (resubscribe && !occurredGiven)
        {
            problems.Reject("occurredAt", ResubscribeNeedsTime);
        }

        string? source = null;
        var sourceRaw = reader.Optional("source", Dropped)?.Trim().ToLowerInvariant();
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

        var reason = reader.String("reason", required: false, Dropped, keepRepaired: true);
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

        if (id is null && marketo && email is not null && problems.Errors.Count == 0)
        {
            id = DeriveMarketoId(leadId, email, string.IsNullOrEmpty(occurredRaw) ? receivedAt.ToString("O", CultureInfo.InvariantCulture) : occurredRaw);
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

    /// <summary>
    /// The event id of a Marketo Engage event that came without one: <c>mkto-{lead id}-{hash}</c>, the hash over the lead
    /// id, the normalized address and <paramref name="occurredAtText"/> (the date-time as rendered, or the time of
    /// receipt when none was sent). The same rendered request sent again (by a relay, or replayed by hand) is a
    /// duplicate; a new unsubscribe renders a new time, so it is a new event.
    /// </summary>
    public static string DeriveMarketoId(long? leadId, EmailAddress email, string occurredAtText)
    {
        var hash = StableKey.Of($"{leadId}\n{email.Value}\n{occurredAtText}")[..16];
        return leadId is { } lead ? $"{MarketoIdPrefix}{lead.ToString(CultureInfo.InvariantCulture)}-{hash}" : MarketoIdPrefix + hash;
    }

    // Returns whether the sender's time was used; otherwise occurredAt is the time of receipt.
    private bool ReadOccurredAt(string? raw, DateTimeOffset receivedAt, bool marketo, EventProblems problems, out DateTimeOffset occurredAt)
    {
        occurredAt = receivedAt;
        if (raw is null)
        {
            return false;
        }

        DateTimeOffset parsed;
        var shape = DateTimeShape().Match(raw);
        if (!shape.Success)
        {
            problems.Drop("occurredAt", "must be an ISO-8601 date and time with a UTC offset, such as 2026-11-28T10:00:00Z", ReceiptTimeUsed);
            return false;
        }

        var offset = shape.Groups["offset"];
        var local = string.Concat(raw.AsSpan(0, 10), "T", offset.Success ? raw.AsSpan(11, offset.Index - 11) : raw.AsSpan(11));
        if (offset.Success)
        {
            if (!DateTimeOffset.TryParse(local + offset.Value.ToUpperInvariant(), CultureInfo.InvariantCulture, DateTimeStyles.None, out parsed))
            {
                problems.Drop("occurredAt", "must be an ISO-8601 date and time with a UTC offset, such as 2026-11-28T10:00:00Z", ReceiptTimeUsed);
                return false;
            }
        }
        else if (!DateTime.TryParse(local, CultureInfo.InvariantCulture, DateTimeStyles.None, out var unspecified))
        {
            problems.Drop("occurredAt", "must be an ISO-8601 date and time with a UTC offset, such as 2026-11-28T10:00:00Z", ReceiptTimeUsed);
            return false;
        }
        else if (_senderZone is null)
        {
            // Marketo renders its date-times without an offset; with no zone configured the receipt stands in for the
            // time (its {{system.dateTime}} is when the webhook was rendered, seconds before we receive it).
            if (!marketo)
            {
                problems.Drop("occurredAt", $"has no UTC offset (such as 2026-11-28T10:00:00Z) and {WebhookOptions.SenderTimeZoneSetting} is not set", ReceiptTimeUsed);
            }

            return false;
        }
        else
        {
            parsed = InSenderZone(DateTime.SpecifyKind(unspecified, DateTimeKind.Unspecified), _senderZone);
        }

        if (parsed > receivedAt + FutureTolerance)
        {
            // A future time would win the ordering rule against every real event until it passed.
            problems.Drop("occurredAt", "must not be more than 5 minutes in the future", ReceiptTimeUsed);
            return false;
        }

        if (parsed < EarliestOccurredAt)
        {
            // A placeholder (0001-01-01, 1970-01-01) is not when it happened, and Table storage holds no date before 1601.
            problems.Drop("occurredAt", "must not be before 2000-01-01 (a placeholder date is not when it happened)", ReceiptTimeUsed);
            return false;
        }

        occurredAt = parsed;
        return true;
    }

    // In the hour a clock goes back, the later of the two instants: never earlier than the truth, and one that lands in
    // the future is caught by the future check and replaced with the time of receipt.
    private static DateTimeOffset InSenderZone(DateTime local, TimeZoneInfo zone)
    {
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Min() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset);
    }

    // A positive integer, as a number ({{lead.Id}} is an integer token) or as a string; 0 and "" are the template's
    // defaults for "none". Unusable, it is dropped: the id is then derived from the address and time alone.
    private static long? ReadMarketoLeadId(JsonElement value, EventProblems problems)
    {
        const string Consequence = "the event id was derived without it";
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= 0)
        {
            return number == 0 ? null : number;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            var text = JsonText.Read(value, out _).Trim();
            if (text.Length == 0 || text == "0")
            {
                return null;
            }

            if (text.Length <= 18 && text.All(char.IsAsciiDigit) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return parsed;
            }
        }

        problems.Drop(MarketoLeadIdProperty, "must be a Marketo lead id (a positive integer)", Consequence);
        return null;
    }

    // true/false, or as Marketo may render them: "true"/"false" in any case, 1/0, "1"/"0". Empty means absent.
    private static bool? ReadBoolean(JsonElement element, string name, EventProblems problems, string consequence, bool htmlDecode)
    {
        if (!TryGetProperty(element, name, out var value))
        {
            return null;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.Number when value.TryGetInt32(out var n) && n is 0 or 1:
                return n == 1;
            case JsonValueKind.String:
                var text = JsonText.Read(value, out _);
                switch ((htmlDecode ? WebUtility.HtmlDecode(text) : text).Trim().ToLowerInvariant())
                {
                    case "":
                        return null;
                    case "true" or "1":
                        return true;
                    case "false" or "0":
                        return false;
                }

                break;
        }

        problems.Drop(name, "must be true or false", consequence);
        return null;
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

    /// <summary>Reads one event's string fields, HTML-decoding them for a Marketo Engage event.</summary>
    private readonly struct FieldReader(JsonElement element, EventProblems problems, bool htmlDecode)
    {
        // Optional fields that are empty mean "not given": senders often fill a template with blanks, and an empty
        // Marketo token renders as "".
        public string? Optional(string name, string consequence)
        {
            var text = String(name, required: false, consequence);
            return string.IsNullOrWhiteSpace(text) ? null : text;
        }

        public string? String(string name, bool required, string consequence, bool keepRepaired = false)
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

            // Marketo HTML-encodes token values by default (Field Management, "HTML Encode Tokens"): o'brien@example.com
            // may arrive as o&#39;brien@example.com, which is a valid but different address.
            if (htmlDecode)
            {
                text = WebUtility.HtmlDecode(text);
            }

            if (required && text.Trim().Length == 0)
            {
                problems.Reject(name, "is required");
                return null;
            }

            return text;
        }
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

    // ISO-8601 (or its space-separated form, as Marketo renders {{system.dateTime}}), with or without an offset.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(?<offset>Z|z|[+-]\d{2}:\d{2})?$", RegexOptions.CultureInvariant)]
    private static partial Regex DateTimeShape();

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
