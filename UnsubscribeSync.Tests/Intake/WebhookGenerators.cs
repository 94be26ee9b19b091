using System.Globalization;
using System.Text;
using CsCheck;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// CsCheck generators of webhook bodies: JSON trees written byte by byte (so a string may carry raw invalid UTF-8,
/// escaped lone surrogates, duplicate keys or exotic numbers), events made of the contract's fields with plausible
/// and hostile values, and random byte mutations of those bodies. Ids and addresses come from small pools, so a run
/// of requests repeats events and addresses as real senders do.
/// </summary>
public static class WebhookGenerators
{
    /// <summary>How a string is written: its characters raw (as UTF-8), escaped as <c>\uXXXX</c>, or some of each.</summary>
    public enum Style
    {
        Raw,
        Escaped,
        Mixed,
    }

    /// <summary>A JSON value as a sender may write it.</summary>
    public abstract record Json;

    public sealed record JsonString(string Value, Style Style) : Json;

    /// <summary>Bytes written as they are: a number literal, or anything at all.</summary>
    public sealed record JsonRaw(byte[] Bytes) : Json;

    public sealed record JsonArray(Json[] Items) : Json;

    public sealed record JsonObject((string Key, Json Value)[] Properties) : Json;

    /// <summary>Snippets that have broken parsers, keys, filters, spreadsheets or logs somewhere.</summary>
    public static readonly string[] Hostile =
    [
        "'", "\"", "\\", "/", "\0", "\u0007", "\u001f", "\u007f", "\r\n", "\t", "\ud800", "\udfff", "\ud83d\ude00", "\ude00\ud83d",
        "\uFEFF", "\uFFFE", "\uFFFF", "\u200B", "\u202E", "\u0130", "\u00DF", "\u0430", "\uFF20", "@", ".", "..", "-", "+", "%", "_", "#", "?",
        "' or PartitionKey ne '", "' OR Id != '", "=1+1", "@SUM(A1)", "<script>alert(1)</script>", "${jndi:ldap://x/a}", "{{7*7}}",
        "../../etc/passwd", "'; DROP TABLE Ledger;--", "},{\"id\":\"x\"}", "0035g00000ABCde", "example.com", "NaN", "null", "1e999",
    ];

    /// <summary>Values of one field: mostly usable ones (some of them hostile but valid), some the contract calls unusable, some random text.</summary>
    public sealed record Pool(string[] Usable, string[] Unusable)
    {
        public Gen<string> Values => Gen.Frequency((16, Gen.OneOf(Usable)), (3, Gen.OneOf(Unusable)), (1, Text));
    }

    public static readonly Pool Ids = new(
        [.. Enumerable.Range(0, 300).Select(i => $"fz-{i}"), "fz' or PartitionKey ne '", "fz/\\#?", "=1+1"],
        ["", " ", "\ud800", "fz\u0000", new string('i', 129)]);

    public static readonly Pool Emails = new(
        [
            .. Enumerable.Range(0, 10).Select(i => $"person{i}@example.com"), "PERSON1@EXAMPLE.COM", "  person2@example.com ",
            "j\u00fcrgen@b\u00fccher.de", "p\u0430ypal@example.com", "x'or'1'='1@example.com", "\"quoted\"@example.com",
        ],
        ["not-an-address", "a@b", "a@b@c.co", "h\u0000@example.com", "", "Jane <person1@example.com>", new string('l', 65) + "@example.com"]);

    public static readonly Pool SalesforceIds = new(
        ["0035g00000ABCde", "0035g00000ABCdf", "0035g00000ABCdeAAH", "00Q5g00000ABCde", "0035g00000abcdeaah", "0015g00000ABCde", ""],
        ["0065g00000ABCde", "0035g00000ABCdeZZZ", "003' OR Id != '", "../../x"]);

    public static readonly Pool Times = new(
        ["2026-11-28T10:00:00Z", "2026-11-28T11:59:59.9999999Z", "2026-11-28T12:04:59+00:00", "2026-11-28T13:00:00+02:00", "2000-01-01T00:00:00Z", ""],
        [
            "2026-11-28T12:05:01Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "1601-01-01T00:00:00+00:01", "1970-01-01T00:00:00Z",
            "2026-02-30T10:00:00Z", "2026-11-28T10:00:00", "2026-11-28T10:00:00+99:00", "yesterday",
        ]);

    // A resubscribe is usable only with a time and a reason, which most generated events lack.
    public static readonly Pool Types = new(["unsubscribe", " UNSUBSCRIBE ", ""], ["resubscribe", "Resubscribe", "delete"]);

    public static readonly Pool Sources = new(["link", "manual", "bounce", "salesforce", "other", "LINK", ""], ["twitter", "link' or '1'='1"]);

    public static readonly Pool Reasons = new(
        ["asked by phone", "too many emails", "", "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "line\r\nX-Injected: 1", "\ud83d\ude00", "\u0000\u0007"],
        ["\ud800", "\ude00\ud83d", new string('r', 1001)]);

    public static readonly string[] Keys = ["id", "email", "type", "salesforceId", "occurredAt", "source", "reason", "unsubscribes", "ID", "Email", "EMAIL", "x", ""];

    private static readonly string[] Numbers = ["0", "-0", "1", "42", "-1", "3.14", "1E+2", "1e999", "-1e-999999", "123456789012345678901234567890", "1764324000"];

    private static readonly string[] NotJson = ["NaN", "Infinity", "-Infinity", "0x1F", "0123", "+1", ".5", "1.", "'x'", "undefined", "tru", "nul", "{", "]", ","];

    private static readonly byte[][] BrokenBytes =
        [[0xFF], [0xFE], [0x80], [0xC0, 0x80], [0xC1, 0x80], [0xC3], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xEF, 0xBB, 0xBF], [0x00]];

    private static readonly Gen<Style> GenStyle = Gen.Enum<Style>();

    /// <summary>Text: plain, any UTF-16 code units (lone surrogates and controls included), hostile snippets, or a mix.</summary>
    public static readonly Gen<string> Text = Gen.Frequency(
        (3, Gen.Char['a', 'z'].Array[0, 12].Select(c => new string(c))),
        (2, Gen.Char.Array[0, 8].Select(c => new string(c))),
        (3, Gen.OneOf(Hostile)),
        (2, Gen.OneOf(Hostile).Array[1, 4].Select(parts => string.Concat(parts))),
        (1, Gen.Int[1000, 1100].Select(n => new string('r', n))));

    private static Gen<string> PoolOrText(string[] pool) => Gen.Frequency((4, Gen.OneOf(pool)), (1, Text));

    private static Gen<Json> Str(Gen<string> text) => Gen.Select(text, GenStyle, (t, s) => (Json)new JsonString(t, s));

    /// <summary>A leaf that is valid JSON (if perhaps not valid UTF-8): a string, a number, true, false or null.</summary>
    public static readonly Gen<Json> Leaf = Gen.Frequency(
        (5, Str(Text)),
        (2, Gen.OneOf(Numbers).Select(n => (Json)new JsonRaw(Encoding.UTF8.GetBytes(n)))),
        (1, Gen.OneOf("true", "false", "null").Select(n => (Json)new JsonRaw(Encoding.UTF8.GetBytes(n)))));

    /// <summary>A leaf that breaks the JSON: a token JSON does not have, or bytes that are not UTF-8 outside a string.</summary>
    public static readonly Gen<Json> BrokenLeaf = Gen.Frequency(
        (1, Gen.OneOf(NotJson).Select(n => (Json)new JsonRaw(Encoding.UTF8.GetBytes(n)))),
        (1, Gen.OneOf(BrokenBytes).Select(b => (Json)new JsonRaw(b))));

    /// <summary>A string value whose characters are sometimes raw invalid UTF-8 between valid text.</summary>
    private static readonly Gen<Json> BrokenString = Gen.Select(Text, Gen.OneOf(BrokenBytes), Text, (a, broken, b) =>
        (Json)new JsonRaw([.. Write(new JsonString(a, Style.Raw))[..^1], .. broken, .. Write(new JsonString(b, Style.Raw))[1..]]));

    /// <summary>A random JSON tree up to <paramref name="depth"/> levels; <paramref name="broken"/> lets a leaf break the JSON and a branch nest far past the parser's limit.</summary>
    public static Gen<Json> Tree(int depth, bool broken = false)
    {
        var leaf = broken ? Gen.Frequency((4, Leaf), (1, BrokenLeaf)) : Leaf;
        return depth == 0
            ? leaf
            : Gen.Frequency(
                (4, leaf),
                (2, Tree(depth - 1, broken).Array[0, 4].Select(items => (Json)new JsonArray(items))),
                (3, Gen.Select(PoolOrText(Keys), Tree(depth - 1, broken)).Array[0, 5].Select(p => (Json)new JsonObject(p))),
                (broken ? 1 : 0, Gen.Int[14, 40].Select(n => (Json)new JsonRaw(Encoding.UTF8.GetBytes(new string('[', n) + new string(']', n))))));
    }

    private static Gen<Json> Field(Pool pool) => Gen.Frequency((30, Str(pool.Values)), (1, BrokenString), (1, Tree(1)));

    /// <summary>
    /// One event: the contract's fields, each present or not, with values from the pools (mostly usable, often not);
    /// sometimes a key in another case, repeated, or an unknown property.
    /// </summary>
    public static readonly Gen<Json> Event = Gen.Select(
        Gen.Select(Field(Ids), Field(Emails), Gen.Int[0, 9], (id, email, drop) => new[] { ("id", id, drop != 0), ("email", email, drop != 1) }),
        Gen.Select(Field(Types), Gen.Bool, Field(SalesforceIds), Gen.Bool, Field(Times), Gen.Bool, (type, t, sf, s, at, a) => new[] { ("type", type, t), ("salesforceId", sf, s), ("occurredAt", at, a) }),
        Gen.Select(Field(Sources), Gen.Bool, Field(Reasons), Gen.Bool, (source, so, reason, r) => new[] { ("source", source, so), ("reason", reason, r) }),
        Gen.Select(PoolOrText(Keys), Tree(2)).Array[0, 2],
        Gen.Int[0, 19],
        (required, optional, more, extra, quirk) =>
        {
            var properties = required.Concat(optional).Concat(more).Where(p => p.Item3).Select(p => (Key: p.Item1, Value: p.Item2)).Concat(extra).ToList();
            switch (quirk)
            {
                case 0 when properties.Count > 0:
                    properties[0] = (properties[0].Item1.ToUpperInvariant(), properties[0].Item2);
                    break;
                case 1 when properties.Count > 0:
                    properties.Add(properties[0]);
                    break;
                case 2 when properties.Count > 1:
                    properties.Reverse();
                    break;
            }

            return (Json)new JsonObject([.. properties]);
        });

    /// <summary>A body: one event, a batch of events (now and then with something that is not one), or any JSON tree, perhaps broken.</summary>
    public static readonly Gen<Json> Body = Gen.Frequency(
        (3, Event),
        (5, Gen.Frequency((9, Event), (1, Tree(1))).Array[1, 6].Select(events => (Json)new JsonObject([("unsubscribes", new JsonArray(events))]))),
        (1, Tree(3)),
        (1, Tree(3, broken: true)));

    /// <summary>A change to a body's bytes: overwrite, insert, delete or repeat a few bytes at a point, or cut it short.</summary>
    public sealed record Mutation(int Kind, double At, byte Value, int Length)
    {
        private static readonly byte[] Special = [0x00, 0xFF, 0xC0, 0x80, 0xED, 0xA0, 0xEF, 0xBB, 0xBF, (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)',', (byte)':', (byte)'u'];

        public byte[] Apply(byte[] body)
        {
            var at = (int)(At * body.Length);
            var bytes = new List<byte>(body);
            var value = Value % 2 == 0 ? Special[Value % Special.Length] : Value;
            switch (Kind)
            {
                case 0 when at < bytes.Count:
                    bytes[at] = value;
                    break;
                case 1:
                    bytes.InsertRange(at, Enumerable.Repeat(value, Length));
                    break;
                case 2:
                    bytes.RemoveRange(at, Math.Min(Length, bytes.Count - at));
                    break;
                case 3:
                    bytes.InsertRange(at, bytes.Skip(at).Take(Length * 4).ToList());
                    break;
                case 4:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }

            return [.. bytes];
        }
    }

    public static readonly Gen<Mutation> GenMutation = Gen.Select(Gen.Int[0, 4], Gen.Double.Unit, Gen.Byte, Gen.Int[1, 8], (k, at, v, n) => new Mutation(k, at, v, n));

    /// <summary>A body's bytes, often mutated, now and then with a byte order mark in front.</summary>
    public static readonly Gen<byte[]> BodyBytes = Gen.Select(Body, Gen.Frequency((3, Gen.Const(Array.Empty<Mutation>())), (2, GenMutation.Array[1, 3])), Gen.Int[0, 9], (body, mutations, bom) =>
    {
        var bytes = mutations.Aggregate(Write(body), (b, m) => m.Apply(b));
        return bom == 0 ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes;
    });

    /// <summary>Writes a JSON value to bytes exactly as it says: nothing is validated or repaired.</summary>
    public static byte[] Write(Json json)
    {
        var output = new List<byte>();
        WriteTo(json, output);
        return [.. output];
    }

    private static void WriteTo(Json json, List<byte> output)
    {
        switch (json)
        {
            case JsonString s:
                WriteString(s.Value, s.Style, output);
                break;
            case JsonRaw raw:
                output.AddRange(raw.Bytes);
                break;
            case JsonArray array:
                output.Add((byte)'[');
                for (var i = 0; i < array.Items.Length; i++)
                {
                    if (i > 0)
                    {
                        output.Add((byte)',');
                    }

                    WriteTo(array.Items[i], output);
                }

                output.Add((byte)']');
                break;
            case JsonObject obj:
                output.Add((byte)'{');
                for (var i = 0; i < obj.Properties.Length; i++)
                {
                    if (i > 0)
                    {
                        output.Add((byte)',');
                    }

                    WriteString(obj.Properties[i].Key, Style.Raw, output);
                    output.Add((byte)':');
                    WriteTo(obj.Properties[i].Value, output);
                }

                output.Add((byte)'}');
                break;
        }
    }

    // A surrogate pair is written as one character, both halves raw or both escaped. A lone surrogate cannot be written
    // raw as UTF-8: raw style writes the three bytes a careless encoder would (0xED ...), which is invalid UTF-8; escaped
    // style writes \uD800, which is valid JSON that System.Text.Json will not turn into a string.
    private static void WriteString(string value, Style style, List<byte> output)
    {
        output.Add((byte)'"');
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var units = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]) ? 2 : 1;
            var escape = style == Style.Escaped || (style == Style.Mixed && i % 2 == 1) || c is '"' or '\\' or < ' ';
            if (escape)
            {
                for (var u = 0; u < units; u++)
                {
                    output.AddRange(Encoding.ASCII.GetBytes("\\u" + ((int)value[i + u]).ToString("x4", CultureInfo.InvariantCulture)));
                }
            }
            else if (units == 1 && char.IsSurrogate(c))
            {
                output.AddRange([(byte)(0xE0 | (c >> 12)), (byte)(0x80 | ((c >> 6) & 0x3F)), (byte)(0x80 | (c & 0x3F))]);
            }
            else
            {
                output.AddRange(Encoding.UTF8.GetBytes(value.Substring(i, units)));
            }

            i += units - 1;
        }

        output.Add((byte)'"');
    }
}
