using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using UnsubscribeSync.SalesforceSandbox.Model;

namespace UnsubscribeSync.SalesforceSandbox.Http;

/// <summary>
/// Writes JSON the way Salesforce does: <c>application/json;charset=UTF-8</c> (jsforce parses only
/// bodies whose type matches) and error bodies as arrays of <c>{message, errorCode, fields}</c>.
/// </summary>
public static class SalesforceJson
{
    public const string ContentType = "application/json;charset=UTF-8";

    // Salesforce writes apostrophes and plus signs literally; the default encoder would escape them.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static IResult Json(JsonNode? body, int status = StatusCodes.Status200OK) => new JsonNodeResult(body, status);

    public static IResult Error(SalesforceError error)
    {
        var item = new JsonObject
        {
            ["message"] = error.Message,
            ["errorCode"] = error.ErrorCode,
        };
        if (error.Fields is not null)
        {
            item["fields"] = new JsonArray([.. error.Fields.Select(f => (JsonNode?)f)]);
        }

        return new JsonNodeResult(new JsonArray(item), error.Status);
    }

    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        DateTimeOffset d => JsonValue.Create(SalesforceDates.Format(d)),
        string s => JsonValue.Create(s),
        _ => JsonValue.Create(value.ToString()),
    };

    public static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case DateTimeOffset d:
                writer.WriteStringValue(SalesforceDates.Format(d));
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    private sealed class JsonNodeResult(JsonNode? body, int status) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = ContentType;
            await using var writer = new Utf8JsonWriter(httpContext.Response.BodyWriter, WriterOptions);
            if (body is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                body.WriteTo(writer);
            }

            await writer.FlushAsync(httpContext.RequestAborted);
        }
    }
}
