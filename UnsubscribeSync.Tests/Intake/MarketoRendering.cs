using System.Net;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// Renders a webhook payload template the way Marketo Engage does (Request Token Encoding: JSON), from what Adobe's
/// developer documentation says: string-type tokens are enclosed in double quotes by Marketo itself, an integer token is
/// written as it is, a token with no value renders its <c>:default=</c> (empty for a string: <c>""</c>), and token
/// values may be HTML-encoded (Field Management, "HTML Encode Tokens", on by default).
/// </summary>
internal static partial class MarketoRendering
{
    /// <summary>Tokens of Marketo's integer type; every other token is a string.</summary>
    private static readonly HashSet<string> IntegerTokens = new(StringComparer.OrdinalIgnoreCase) { "lead.Id", "campaign.id", "program.id" };

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The template with each <c>{{token}}</c> or <c>{{token:default=x}}</c> replaced by its rendered value.</summary>
    public static string Render(string template, IReadOnlyDictionary<string, object?> values, bool htmlEncodeTokens = false) =>
        Token().Replace(template, m =>
        {
            var name = m.Groups["name"].Value.Trim();
            var value = values.TryGetValue(name, out var given) && given is not null ? given : (object?)m.Groups["default"].Value;
            if (IntegerTokens.Contains(name))
            {
                return Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;
            }

            var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
            return JsonSerializer.Serialize(htmlEncodeTokens ? WebUtility.HtmlEncode(text) : text, Json);
        });

    /// <summary>Marketo's <c>{{system.dateTime}}</c> format: <c>2013-08-08 16:36:13</c>, in the subscription's time zone, no offset.</summary>
    public static string SystemDateTime(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The payload template the README publishes for Marketo Engage: the fenced block after the
    /// <c>&lt;!-- marketo-engage-template --&gt;</c> marker, so the tests render exactly what an administrator pastes.
    /// </summary>
    public static string ReadmeTemplate()
    {
        var root = typeof(MarketoRendering).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var block = ReadmeBlock().Match(readme);
        Assert.True(block.Success, "README.md has no fenced block after <!-- marketo-engage-template -->");
        return block.Groups["template"].Value;
    }

    [GeneratedRegex(@"<!-- marketo-engage-template -->\s*```\w*\n(?<template>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ReadmeBlock();

    [GeneratedRegex(@"\{\{(?<name>[^:}]+)(:default=(?<default>[^}]*))?\}\}")]
    private static partial Regex Token();
}
