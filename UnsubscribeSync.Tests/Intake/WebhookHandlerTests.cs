using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using NSubstitute;
using NSubstitute.ExceptionExtensions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Storage;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

public class WebhookHandlerTests
{
    private const string Secret = "test-signing-secret";
    private const string OneEvent = """{"id":"evt-1","email":"a@b.co"}""";
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Now);
    private readonly IIntakeService _intake = Substitute.For<IIntakeService>();

    private static List<string> Strings(System.Text.Json.Nodes.JsonNode? array) =>
        array!.AsArray().Select(n => n!.GetValue<string>()).ToList();

    // Intake records what it is given; the handler decides what that is.
    private void AcceptEverything() =>
        _intake.AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>())
            .Returns(call => new IntakeOutcome(call.Arg<IReadOnlyList<ConsentEvent>>().Select(e => e.Id).ToList(), []));

    // UTF-8 with every U+00FF turned into the lone byte 0xFF, which no valid UTF-8 text contains.
    private static byte[] WithInvalidByte(string json) =>
        Encoding.UTF8.GetBytes(json.Replace('\u00ff', '\u0001')).Select(b => b == 0x01 ? (byte)0xFF : b).ToArray();

    private WebhookHandler Create(string? secret = null) => new(
        new WebhookSignatureVerifier(Options.Create(new WebhookOptions { SigningSecret = secret }), _time),
        new EventParser(_time, Options.Create(new WebhookOptions())),
        _intake,
        _time,
        NullLogger<WebhookHandler>.Instance);

    [Fact]
    public async Task HandleAsync_EventHeldByAnotherAttempt_Returns503InProgressWithRetryAfterTheClaimLapses()
    {
        // Arrange: intake finished one event and found the other held by an attempt whose claim lapses in 89.2 s.
        _intake.AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>())
            .Returns(new IntakeOutcome(["evt-1"], [], ["evt-2"], Now.AddSeconds(89.2)));

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(OneEvent), CancellationToken.None)).ExecuteAsync();

        // Assert: not a 202 that would call evt-2 recorded while nobody may finish it before the nightly sweep.
        Assert.Equal(503, outcome.Status);
        Assert.Equal("urn:unsubscribesync:problem:in-progress", outcome.Json["type"]!.GetValue<string>());
        Assert.Equal("90", outcome.Headers.RetryAfter.ToString());
    }

    [Fact]
    public async Task HandleAsync_ValidEvent_Returns202WithAcceptedIds()
    {
        // Arrange
        _intake.AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>())
            .Returns(new IntakeOutcome(["evt-1"], []));

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(OneEvent), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(202, outcome.Status);
        Assert.Equal("evt-1", outcome.Json["accepted"]![0]!.GetValue<string>());
        Assert.Empty(outcome.Json["duplicates"]!.AsArray());
        await _intake.Received(1).AcceptAsync(Arg.Is<IReadOnlyList<ConsentEvent>>(l => l.Count == 1 && l[0].Email.Value == "a@b.co"), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task HandleAsync_EveryEventInvalid_Returns400ProblemNamingFieldsAndRecordsNothing()
    {
        // Arrange
        var body = """{"unsubscribes":[{"id":"1","email":"nope"},{"email":"a@b.co"}]}""";

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(400, outcome.Status);
        Assert.Equal("application/problem+json", outcome.ContentType);
        Assert.Equal(["unsubscribes[0].email", "unsubscribes[1].id"], outcome.ErrorFields.Order(StringComparer.Ordinal));
        Assert.Equal(400, outcome.Json["status"]!.GetValue<int>());
        await _intake.DidNotReceiveWithAnyArgs().AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task HandleAsync_BatchWithOneBadEmail_Returns202RecordingTheOthersAndRejectingIt()
    {
        // Arrange
        AcceptEverything();
        var body = """{"unsubscribes":[{"id":"1","email":"a@b.co"},{"id":"2","email":"nope"},{"id":"3","email":"c@d.co"}]}""";

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(202, outcome.Status);
        Assert.Equal(["1", "3"], Strings(outcome.Json["accepted"]));
        Assert.Empty(outcome.Json["duplicates"]!.AsArray());
        var rejected = Assert.Single(outcome.Json["rejected"]!.AsArray())!;
        Assert.Equal(1, rejected["index"]!.GetValue<int>());
        Assert.Equal("2", rejected["id"]!.GetValue<string>());
        Assert.Contains("valid email", rejected["errors"]!["unsubscribes[1].email"]![0]!.GetValue<string>());
        Assert.Empty(outcome.Json["warnings"]!.AsArray());
        await _intake.Received(1).AcceptAsync(Arg.Is<IReadOnlyList<ConsentEvent>>(l => l.Select(e => e.Id).SequenceEqual(new[] { "1", "3" })), Arg.Any<CancellationToken>());
    }

    [Theory]
    [InlineData("\"salesforceId\":\"0065g00000ABCdeAAH\"", "salesforceId", "Contact (003), Lead (00Q) or Person Account (001) Id")]
    [InlineData("\"salesforceId\":\"0035g00000ABCdeZZZ\"", "salesforceId", "checksum")]
    [InlineData("\"salesforceId\":42", "salesforceId", "must be a string")]
    [InlineData("\"occurredAt\":\"2026-11-28T10:00:00\"", "occurredAt", "UTC offset")]
    [InlineData("\"occurredAt\":\"2026-11-28T12:05:01Z\"", "occurredAt", "5 minutes in the future")]
    [InlineData("\"source\":\"twitter\"", "source", "link, manual, bounce, salesforce, other")]
    [InlineData("\"type\":\"delete\"", "type", "recorded as an unsubscribe")]
    public async Task HandleAsync_UnusableOptionalField_Returns202WithTheFieldDroppedAndAWarning(string field, string name, string expected)
    {
        // Arrange
        AcceptEverything();
        var body = $$"""{"unsubscribes":[{"id":"ok","email":"ok@b.co"},{"id":"evt-1","email":"a@b.co",{{field}}}]}""";

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(["ok", "evt-1"], Strings(outcome.Json["accepted"]));
        Assert.Empty(outcome.Json["rejected"]!.AsArray());
        var warning = Assert.Single(outcome.Json["warnings"]!.AsArray())!;
        Assert.Equal(1, warning["index"]!.GetValue<int>());
        Assert.Equal("evt-1", warning["id"]!.GetValue<string>());
        Assert.Equal($"unsubscribes[1].{name}", warning["field"]!.GetValue<string>());
        Assert.Contains(expected, warning["message"]!.GetValue<string>());
        await _intake.Received(1).AcceptAsync(
            Arg.Is<IReadOnlyList<ConsentEvent>>(l => l.Count == 2 && l[1].Type == ConsentEventType.Unsubscribe
                && l[1].SalesforceId == null && l[1].Source == null && l[1].OccurredAt == Now),
            Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task HandleAsync_ReasonOver1000Characters_RecordsItClippedWithAWarning()
    {
        // Arrange
        AcceptEverything();
        var body = $$"""{"id":"evt-1","email":"a@b.co","reason":"{{new string('r', 1500)}}"}""";

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(202, outcome.Status);
        var warning = Assert.Single(outcome.Json["warnings"]!.AsArray())!;
        Assert.Equal("reason", warning["field"]!.GetValue<string>());
        Assert.Contains("clipped to 1000", warning["message"]!.GetValue<string>());
        await _intake.Received(1).AcceptAsync(Arg.Is<IReadOnlyList<ConsentEvent>>(l => l[0].Reason!.Length == 1000), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task HandleAsync_BodyStartsWithUtf8Bom_IsAccepted()
    {
        // Arrange
        AcceptEverything();
        byte[] body = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(OneEvent)];

        // Act
        var outcome = await (await Create().HandleAsync(IntakeRequests.Json(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(["evt-1"], Strings(outcome.Json["accepted"]));
    }

    [Theory]
    [InlineData("\"reason\":\"cut \u00ff\"", "cut \ufffd")]
    [InlineData("\"reason\":\"cut \\ud83d\"", "cut \ufffd")]
    [InlineData("\"reason\":\"\\ude00 then \\ud83d\\ude00\"", "\ufffd then \ud83d\ude00")]
    public async Task HandleAsync_BrokenCharacterInReason_Returns202WithItReplacedAndAWarning(string field, string expected)
    {
        // Arrange: ÿ (U+00FF) is sent as the lone byte 0xFF, never valid in UTF-8; \\ud83d is half an emoji, as JSON escapes it.
        AcceptEverything();
        var body = WithInvalidByte($$"""{"id":"evt-1","email":"a@b.co",{{field}}}""");

        // Act
        var outcome = await (await Create().HandleAsync(IntakeRequests.Json(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        var warning = Assert.Single(outcome.Json["warnings"]!.AsArray())!;
        Assert.Equal("reason", warning["field"]!.GetValue<string>());
        Assert.Contains("replaced with U+FFFD", warning["message"]!.GetValue<string>());
        await _intake.Received(1).AcceptAsync(Arg.Is<IReadOnlyList<ConsentEvent>>(l => l[0].Reason == expected), Arg.Any<CancellationToken>());
    }

    [Theory]
    [InlineData("""{"id":"evt-ÿ","email":"a@b.co"}""", "id")]
    [InlineData("""{"id":"evt-\ud800","email":"a@b.co"}""", "id")]
    [InlineData("""{"id":"evt-1","email":"jÿne@b.co"}""", "email")]
    [InlineData("""{"id":"evt-1","email":"j\udc00ne@b.co"}""", "email")]
    public async Task HandleAsync_BrokenCharacterInIdOrEmail_RejectsThatEventNamingTheField(string hostile, string field)
    {
        // Arrange
        AcceptEverything();
        var body = WithInvalidByte($$"""{"unsubscribes":[{"id":"ok","email":"ok@b.co"},{{hostile}}]}""");

        // Act
        var outcome = await (await Create().HandleAsync(IntakeRequests.Json(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(["ok"], Strings(outcome.Json["accepted"]));
        var rejected = Assert.Single(outcome.Json["rejected"]!.AsArray())!;
        Assert.Equal(1, rejected["index"]!.GetValue<int>());
        Assert.Contains("invalid UTF-8 or an unpaired surrogate", rejected["errors"]![$"unsubscribes[1].{field}"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task HandleAsync_SingleEventWithBrokenEmail_Returns400NamingEmail()
    {
        // Act
        var body = WithInvalidByte("""{"id":"evt-1","email":"jÿne@b.co"}""");
        var outcome = await (await Create().HandleAsync(IntakeRequests.Json(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(400, outcome.Status);
        Assert.Equal(["email"], outcome.ErrorFields);
        await _intake.DidNotReceiveWithAnyArgs().AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>());
    }

    [Theory]
    [InlineData("type", "it was recorded as an unsubscribe")]
    [InlineData("salesforceId", "awaits a Salesforce Id")]
    [InlineData("occurredAt", "the time of receipt was used instead")]
    [InlineData("source", "it was dropped")]
    public async Task HandleAsync_BrokenCharacterInOtherOptionalField_RecordsTheEventWithoutIt(string field, string expected)
    {
        // Arrange
        AcceptEverything();
        var body = WithInvalidByte($$"""{"id":"evt-1","email":"a@b.co","{{field}}":"xÿ"}""");

        // Act
        var outcome = await (await Create().HandleAsync(IntakeRequests.Json(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        var warning = Assert.Single(outcome.Json["warnings"]!.AsArray())!;
        Assert.Equal(field, warning["field"]!.GetValue<string>());
        Assert.Contains(expected, warning["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task HandleAsync_BrokenCharacterInPropertyName_IgnoresThatProperty()
    {
        // Arrange
        AcceptEverything();
        var body = WithInvalidByte("""{"id":"evt-1","emÿail":"x","email":"a@b.co"}""");

        // Act
        var outcome = await (await Create().HandleAsync(IntakeRequests.Json(body), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(["evt-1"], Strings(outcome.Json["accepted"]));
    }

    [Theory]
    [InlineData("text/xml", OneEvent)]
    [InlineData("multipart/form-data; boundary=x", OneEvent)]
    [InlineData("application/json; charset=iso-8859-1", OneEvent)]
    [InlineData("text/plain; charset=windows-1252", OneEvent)]
    [InlineData("not a media type", OneEvent)]
    [InlineData("application/x-www-form-urlencoded", "id=evt-1&email=a%40b.co")]
    [InlineData("text/plain", "evt-1 a@b.co")]
    [InlineData("", "[{\"id\":\"evt-1\",\"email\":\"a@b.co\"}]")]
    public async Task HandleAsync_NotJson_Returns415(string contentType, string body)
    {
        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(body, contentType), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(415, outcome.Status);
        Assert.Equal("application/problem+json", outcome.ContentType);
        Assert.NotEmpty(outcome.ErrorsFor("Content-Type"));
        await _intake.DidNotReceiveWithAnyArgs().AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>());
    }

    // Marketo Engage documents no Content-Type for its webhooks, and never retries a 4xx.
    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/x-www-form-urlencoded; charset=UTF-8")]
    [InlineData("text/plain")]
    [InlineData("")]
    [InlineData(null)]
    public async Task HandleAsync_JsonObjectUnderAnUnspecificType_IsReadAsJson(string? contentType)
    {
        // Arrange
        AcceptEverything();
        var request = HttpTestExtensions.JsonRequest("\r\n  " + OneEvent, contentType ?? string.Empty);
        request.ContentType = contentType;

        // Act
        var outcome = await (await Create().HandleAsync(request, CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        Assert.Equal(["evt-1"], Strings(outcome.Json["accepted"]));
    }

    [Fact]
    public async Task HandleAsync_JsonWithUtf8Charset_IsAccepted()
    {
        // Arrange
        _intake.AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>()).ReturnsForAnyArgs(new IntakeOutcome(["evt-1"], []));

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(OneEvent, "application/json; charset=utf-8"), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(202, outcome.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HandleAsync_BodyOver256KB_Returns413(bool sendContentLength)
    {
        // Arrange: without Content-Length (chunked), the limit is enforced while reading.
        var body = $$"""{"id":"a","email":"a@b.co","reason":"{{new string('x', WebhookOptions.MaxBodyBytes)}}"}""";

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(body, sendContentLength: sendContentLength), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 413, outcome.Body);
        Assert.NotEmpty(outcome.ErrorsFor("body"));
    }

    [Theory]
    [InlineData(400, "urn:unsubscribesync:problem:incomplete-body")]
    [InlineData(408, "urn:unsubscribesync:problem:incomplete-body")]
    [InlineData(413, "urn:unsubscribesync:problem:too-large")]
    public async Task HandleAsync_BodyReadFailsAsKestrelReportsIt_ReturnsThatStatusAndRecordsNothing(int status, string type)
    {
        // Arrange: how Kestrel fails a read of a body cut short (400), sent too slowly (408) or over its own limit (413).
        var request = HttpTestExtensions.JsonRequest(OneEvent);
        request.Body = new FailingStream(new Microsoft.AspNetCore.Http.BadHttpRequestException("Unexpected end of request content.", status));

        // Act
        var outcome = await (await Create().HandleAsync(request, CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(status, outcome.Status);
        Assert.Equal(type, outcome.Json["type"]!.GetValue<string>());
        Assert.NotEmpty(outcome.ErrorsFor("body"));
        await _intake.DidNotReceiveWithAnyArgs().AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task HandleAsync_EmptyBody_Returns400()
    {
        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(string.Empty), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(400, outcome.Status);
        Assert.Contains("empty", outcome.Json["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task HandleAsync_MalformedJson_Returns400NamingBody()
    {
        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest("{\"id\":"), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(400, outcome.Status);
        Assert.Contains("not valid JSON", Assert.Single(outcome.ErrorsFor("body")));
    }

    [Fact]
    public async Task HandleAsync_SignatureRequiredAndValid_Returns202()
    {
        // Arrange
        _intake.AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>()).ReturnsForAnyArgs(new IntakeOutcome(["evt-1"], []));
        var header = WebhookSignatureVerifier.CreateHeader(Secret, Now.ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(OneEvent));
        var request = HttpTestExtensions.JsonRequest(OneEvent, headers: new Dictionary<string, string> { [WebhookSignatureVerifier.HeaderName] = header });

        // Act
        var outcome = await (await Create(Secret).HandleAsync(request, CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(202, outcome.Status);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-secret")]
    public async Task HandleAsync_SignatureMissingOrWrong_Returns401AndRecordsNothing(string? signingSecret)
    {
        // Arrange
        var headers = new Dictionary<string, string>();
        if (signingSecret is not null)
        {
            headers[WebhookSignatureVerifier.HeaderName] = WebhookSignatureVerifier.CreateHeader(signingSecret, Now.ToUnixTimeSeconds(), Encoding.UTF8.GetBytes(OneEvent));
        }

        // Act
        var outcome = await (await Create(Secret).HandleAsync(HttpTestExtensions.JsonRequest(OneEvent, headers: headers), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(401, outcome.Status);
        Assert.Equal("application/problem+json", outcome.ContentType);
        Assert.NotEmpty(outcome.ErrorsFor(WebhookSignatureVerifier.HeaderName));
        await _intake.DidNotReceiveWithAnyArgs().AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>());
    }

    [Fact]
    public async Task HandleAsync_StorageUnavailable_Returns503WithRetryAfter()
    {
        // Arrange
        _intake.AcceptAsync(Arg.Any<IReadOnlyList<ConsentEvent>>(), Arg.Any<CancellationToken>()).ThrowsAsyncForAnyArgs(new StorageUnavailableException("down", new IOException()));

        // Act
        var outcome = await (await Create().HandleAsync(HttpTestExtensions.JsonRequest(OneEvent), CancellationToken.None)).ExecuteAsync();

        // Assert
        Assert.Equal(503, outcome.Status);
        Assert.Equal("30", outcome.Headers.RetryAfter.ToString());
        Assert.Equal("application/problem+json", outcome.ContentType);
    }

    /// <summary>A request body whose every read fails as the server reports it.</summary>
    private sealed class FailingStream(Exception failure) : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromException<int>(failure);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromException<int>(failure);
    }
}
