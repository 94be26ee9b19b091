using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Intake;

public class EventParserTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly EventParser _parser = new(new FakeTimeProvider(Now), Options.Create(new WebhookOptions()));

    private ParseResult Parse(string json) => _parser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_FullSingleEvent_NormalizesEveryField()
    {
        // Arrange
        const string json = """
            { "id": "evt-7f3c", "type": "unsubscribe", "email": "  Jane.Doe@Example.com ",
              "salesforceId": "0035g00000ABCde", "occurredAt": "2026-11-28T10:00:00+02:00",
              "source": "LINK", "reason": "Not interested", "campaign": "ignored" }
            """;

        // Act
        var result = Parse(json);

        // Assert
        Assert.True(result.IsValid);
        var e = Assert.Single(result.Events);
        Assert.Equal("evt-7f3c", e.Id);
        Assert.Equal(ConsentEventType.Unsubscribe, e.Type);
        Assert.Equal("jane.doe@example.com", e.Email.Value);
        Assert.Equal("0035g00000ABCdeAAH", e.SalesforceId?.Value);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 8, 0, 0, TimeSpan.Zero), e.OccurredAt);
        Assert.Equal(TimeSpan.Zero, e.OccurredAt.Offset);
        Assert.Equal("link", e.Source);
        Assert.Equal("Not interested", e.Reason);
        Assert.Equal(Now, e.ReceivedAt);
    }

    [Theory]
    [InlineData("0015g00000ABCde")]
    [InlineData("0015g00000ABCdeAAH")]
    public void Parse_PersonAccountId_KeepsItAsAnAccountIdWithoutWarnings(string given)
    {
        // Act
        var result = Parse($$"""{"id":"a","email":"a@b.co","salesforceId":"{{given}}"}""");

        // Assert
        var e = Assert.Single(result.Events);
        Assert.Empty(result.Warnings);
        Assert.Equal("0015g00000ABCdeAAH", e.SalesforceId?.Value);
        Assert.Equal(SalesforceObjectType.PersonAccount, e.SalesforceId?.ObjectType);
        Assert.Equal("Account", e.SalesforceId?.SObjectName);
    }

    [Fact]
    public void Parse_MinimalEvent_DefaultsTypeAndOccurredAt()
    {
        // Act
        var result = Parse("""{"id":"a","email":"a@b.co"}""");

        // Assert
        var e = Assert.Single(result.Events);
        Assert.Equal(ConsentEventType.Unsubscribe, e.Type);
        Assert.Equal(Now, e.OccurredAt);
        Assert.Null(e.SalesforceId);
        Assert.Null(e.Source);
    }

    [Fact]
    public void Parse_PropertyNamesInAnyCase_AreRecognized()
    {
        // Act
        var result = Parse("""{"ID":"a","EMAIL":"a@b.co","Type":"RESUBSCRIBE","SalesForceID":"00Q5g00000XyZ12","OCCURREDAT":"2026-11-28T11:00:00Z","Reason":"Asked the admin"}""");

        // Assert
        var e = Assert.Single(result.Events);
        Assert.Equal(ConsentEventType.Resubscribe, e.Type);
        Assert.Equal("00Q5g00000XyZ12AAA".Length, e.SalesforceId?.Value.Length);
    }

    [Fact]
    public void Parse_Batch_ReturnsEventsInOrder()
    {
        // Act
        var result = Parse("""{"unsubscribes":[{"id":"1","email":"a@b.co"},{"id":"2","email":"c@d.co"}]}""");

        // Assert
        Assert.Equal(["1", "2"], result.Events.Select(e => e.Id));
    }

    [Theory]
    [InlineData("""{"email":"a@b.co"}""", "id", "is required")]
    [InlineData("""{"id":"","email":"a@b.co"}""", "id", "is required")]
    [InlineData("""{"id":7,"email":"a@b.co"}""", "id", "must be a string")]
    [InlineData("""{"id":"a\u0001b","email":"a@b.co"}""", "id", "printable")]
    [InlineData("""{"id":"a"}""", "email", "is required")]
    [InlineData("""{"id":"a","email":null}""", "email", "is required")]
    [InlineData("""{"id":"a","email":["a@b.co"]}""", "email", "must be a string")]
    [InlineData("""{"id":"a","email":"not-an-address"}""", "email", "valid email")]
    [InlineData("""{"id":"a","email":"a@b"}""", "email", "valid email")]
    [InlineData("""{"id":"a","email":"a b@c.co"}""", "email", "valid email")]
    [InlineData("""{"id":"a","email":"Jane <jane@c.co>"}""", "email", "valid email")]
    public void Parse_UnusableIdOrEmail_RejectsTheEventNamingFieldAndRule(string json, string field, string expected)
    {
        // Act
        var result = Parse(json);

        // Assert
        Assert.False(result.IsValid);
        Assert.Empty(result.Events);
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(0, rejection.Index);
        Assert.Contains(expected, Assert.Single(rejection.Errors[field]));
        Assert.Contains(expected, Assert.Single(result.Errors[field]));
    }

    [Theory]
    [InlineData("""{"id":"a","email":"a@b.co","type":"delete"}""", "type", "must be \"unsubscribe\" or \"resubscribe\"; it was recorded as an unsubscribe")]
    [InlineData("""{"id":"a","email":"a@b.co","type":3}""", "type", "must be a string; it was recorded as an unsubscribe")]
    [InlineData("""{"id":"a","email":"a@b.co","salesforceId":"0065g00000ABCde"}""", "salesforceId", "must be a Contact (003), Lead (00Q) or Person Account (001) Id")]
    [InlineData("""{"id":"a","email":"a@b.co","salesforceId":"0065g00000ABCdeAAH"}""", "salesforceId", "Person Account (001) Id; the event was recorded without it and awaits a Salesforce Id")]
    [InlineData("""{"id":"a","email":"a@b.co","salesforceId":"0035g00000ABC"}""", "salesforceId", "15- or 18-character Salesforce Id; the event was recorded without it and awaits a Salesforce Id")]
    [InlineData("""{"id":"a","email":"a@b.co","salesforceId":"0035g00000ABCdeZZZ"}""", "salesforceId", "checksum")]
    [InlineData("""{"id":"a","email":"a@b.co","salesforceId":"0035g00000ABC-e"}""", "salesforceId", "letters and digits")]
    [InlineData("""{"id":"a","email":"a@b.co","salesforceId":{"id":"0035g00000ABCde"}}""", "salesforceId", "must be a string")]
    [InlineData("""{"id":"a","email":"a@b.co","occurredAt":"2026-11-28T10:00:00"}""", "occurredAt", "has no UTC offset (such as 2026-11-28T10:00:00Z) and Webhook__SenderTimeZone is not set; the time of receipt was used instead")]
    [InlineData("""{"id":"a","email":"a@b.co","occurredAt":"yesterday"}""", "occurredAt", "ISO-8601")]
    [InlineData("""{"id":"a","email":"a@b.co","occurredAt":1764331200}""", "occurredAt", "must be a string")]
    [InlineData("""{"id":"a","email":"a@b.co","occurredAt":"2026-11-28T12:05:01Z"}""", "occurredAt", "5 minutes in the future; the time of receipt was used instead")]
    [InlineData("""{"id":"a","email":"a@b.co","occurredAt":"0001-01-01T00:00:00Z"}""", "occurredAt", "must not be before 2000-01-01 (a placeholder date is not when it happened); the time of receipt was used instead")]
    [InlineData("""{"id":"a","email":"a@b.co","occurredAt":"1601-01-01T00:00:00+00:01"}""", "occurredAt", "before 2000-01-01")]
    [InlineData("""{"id":"a","email":"a@b.co","occurredAt":"1999-12-31T23:59:59.9999999Z"}""", "occurredAt", "before 2000-01-01")]
    [InlineData("""{"id":"a","email":"a@b.co","source":"twitter"}""", "source", "link, manual, bounce, salesforce, other; it was dropped")]
    [InlineData("""{"id":"a","email":"a@b.co","reason":false}""", "reason", "must be a string; it was dropped")]
    public void Parse_UnusableOptionalField_RecordsTheEventWithoutItAndWarns(string json, string field, string expected)
    {
        // Act
        var result = Parse(json);

        // Assert
        Assert.True(result.IsValid);
        var e = Assert.Single(result.Events);
        Assert.Equal(ConsentEventType.Unsubscribe, e.Type);
        Assert.Null(e.SalesforceId);
        Assert.Equal(Now, e.OccurredAt);
        Assert.Null(e.Source);
        Assert.Null(e.Reason);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal((0, "a", field), (warning.Index, warning.Id, warning.Field));
        Assert.Contains(expected, warning.Message);
    }

    [Fact]
    public void Parse_BlankOptionalFields_AreTreatedAsAbsentWithoutWarnings()
    {
        // Act
        var result = Parse("""{"id":"a","email":"a@b.co","type":"","salesforceId":" ","occurredAt":"","source":""}""");

        // Assert
        var e = Assert.Single(result.Events);
        Assert.Equal(ConsentEventType.Unsubscribe, e.Type);
        Assert.Null(e.SalesforceId);
        Assert.Null(e.Source);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Parse_ReasonWithBrokenBytesAndEscapes_ReplacesOnlyTheBrokenCharacters()
    {
        // Arrange: a lone 0xFF byte and a cut emoji among ordinary escapes and a whole emoji.
        byte[] body = [.. Encoding.UTF8.GetBytes("""{"id":"a","email":"a@b.co","reason":"x\n\u00e9\"\\/"""), 0xFF, .. Encoding.UTF8.GetBytes("""\ud83d\ude00 \ud83d"}""")];

        // Act
        var result = _parser.Parse(body);

        // Assert
        Assert.Equal("x\n\u00e9\"\\/\ufffd\ud83d\ude00 \ufffd", Assert.Single(result.Events).Reason);
        Assert.Contains("U+FFFD", Assert.Single(result.Warnings).Message);
    }

    [Fact]
    public void Parse_Utf8Bom_IsSkipped()
    {
        // Act
        byte[] body = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""{"id":"a","email":"a@b.co"}""")];
        var result = _parser.Parse(body);

        // Assert
        Assert.Equal("a", Assert.Single(result.Events).Id);
    }

    [Fact]
    public void Parse_OccurredAtAtTheStartOf2000_IsAccepted()
    {
        // Act
        var result = Parse("""{"id":"a","email":"a@b.co","occurredAt":"2000-01-01T00:00:00Z"}""");

        // Assert
        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
        Assert.Equal(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), Assert.Single(result.Events).OccurredAt);
    }

    [Fact]
    public void Parse_OccurredAtJustInsideFutureTolerance_IsAccepted()
    {
        // Act
        var result = Parse("""{"id":"a","email":"a@b.co","occurredAt":"2026-11-28T12:05:00Z"}""");

        // Assert
        Assert.True(result.IsValid);
    }

    [Fact]
    public void Parse_IdOf128Characters_IsAcceptedAnd129IsNot()
    {
        // Act
        var ok = Parse($$"""{"id":"{{new string('x', 128)}}","email":"a@b.co"}""");
        var tooLong = Parse($$"""{"id":"{{new string('x', 129)}}","email":"a@b.co"}""");

        // Assert
        Assert.True(ok.IsValid);
        Assert.Contains("id", tooLong.Errors.Keys);
    }

    [Fact]
    public void Parse_EmailOver254Characters_IsRejected()
    {
        // Arrange
        var email = new string('a', 60) + "@" + string.Join('.', Enumerable.Repeat(new string('b', 60), 4)) + ".co";

        // Act
        var result = Parse($$"""{"id":"a","email":"{{email}}"}""");

        // Assert
        Assert.Contains("at most 254", Assert.Single(result.Errors["email"]));
    }

    [Fact]
    public void Parse_ReasonOver1000Characters_IsClippedWithAWarning()
    {
        // Act
        var result = Parse($$"""{"id":"a","email":"a@b.co","reason":"{{new string('r', 1001)}}"}""");

        // Assert
        Assert.Equal(new string('r', 1000), Assert.Single(result.Events).Reason);
        Assert.Contains("clipped to 1000", Assert.Single(result.Warnings).Message);
    }

    [Fact]
    public void Parse_ReasonClippedInsideAnEmoji_KeepsNoHalfCharacter()
    {
        // Arrange: an emoji (two UTF-16 units) straddling the 1000-character limit.
        var reason = new string('r', 999) + "\ud83d\ude00" + "tail";

        // Act
        var result = Parse($$"""{"id":"a","email":"a@b.co","reason":"{{reason}}"}""");

        // Assert
        Assert.Equal(new string('r', 999), Assert.Single(result.Events).Reason);
    }

    [Fact]
    public void Parse_BatchWithBadEvents_RecordsTheGoodOnesAndRejectsEachBadOneWithIndex()
    {
        // Arrange
        const string json = """
            {"unsubscribes":[
              {"id":"1","email":"a@b.co"},
              {"id":"2","email":"bad"},
              {"id":"3","email":"c@d.co","salesforceId":"123"},
              {"email":"e@f.co","salesforceId":"123"},
              42
            ]}
            """;

        // Act
        var result = Parse(json);

        // Assert
        Assert.Equal(["1", "3"], result.Events.Select(e => e.Id));
        Assert.Equal([(1, "2"), (3, null), (4, null)], result.Rejected.Select(r => (r.Index, r.Id)));
        Assert.Equal(
            ["unsubscribes[1].email", "unsubscribes[3].id", "unsubscribes[3].salesforceId", "unsubscribes[4]"],
            result.Errors.Keys.Order(StringComparer.Ordinal));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal((2, "3", "unsubscribes[2].salesforceId"), (warning.Index, warning.Id, warning.Field));
    }

    [Fact]
    public void Parse_BatchOf101Events_IsRejected()
    {
        // Arrange
        var events = string.Join(',', Enumerable.Range(0, 101).Select(i => $$"""{"id":"{{i}}","email":"a@b.co"}"""));

        // Act
        var result = Parse($$"""{"unsubscribes":[{{events}}]}""");

        // Assert
        Assert.Contains("at most 100", Assert.Single(result.Errors["unsubscribes"]));
    }

    [Theory]
    [InlineData("""{"unsubscribes":[]}""", "unsubscribes", "at least one")]
    [InlineData("""{"unsubscribes":{}}""", "unsubscribes", "must be an array")]
    [InlineData("""{"unsubscribes":[42]}""", "unsubscribes[0]", "event object")]
    [InlineData("""[{"id":"a","email":"a@b.co"}]""", "body", "JSON object")]
    [InlineData("""{"id":"a",""", "body", "not valid JSON")]
    [InlineData("not json", "body", "not valid JSON")]
    public void Parse_BadShape_ReportsClearError(string json, string field, string expected)
    {
        // Act
        var result = Parse(json);

        // Assert
        Assert.Contains(expected, Assert.Single(result.Errors[field]));
    }
    [Theory]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","reason":"Asked the admin"}""", "occurredAt", "is required for a resubscribe")]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","reason":"Asked the admin","occurredAt":" "}""", "occurredAt", "is required for a resubscribe")]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","reason":"Asked the admin","occurredAt":"yesterday"}""", "occurredAt", "ISO-8601")]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","reason":"Asked the admin","occurredAt":"2026-11-28T12:05:01Z"}""", "occurredAt", "5 minutes in the future")]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","reason":"Asked the admin","occurredAt":"1970-01-01T00:00:00Z"}""", "occurredAt", "before 2000-01-01")]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","occurredAt":"2026-11-28T11:00:00Z"}""", "reason", "is required for a resubscribe")]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","occurredAt":"2026-11-28T11:00:00Z","reason":"  "}""", "reason", "is required for a resubscribe")]
    [InlineData("""{"id":"r","email":"a@b.co","type":"resubscribe","occurredAt":"2026-11-28T11:00:00Z","reason":7}""", "reason", "must be a string")]
    public void Parse_ResubscribeWithoutUsableOccurredAtOrReason_IsRejectedNamingTheField(string json, string field, string expected)
    {
        // Act
        var result = Parse(json);

        // Assert
        Assert.Empty(result.Events);
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal("r", rejection.Id);
        Assert.Contains(rejection.Errors[field], m => m.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ResubscribeWithOccurredAtAndReason_IsRecordedAsSent()
    {
        // Act
        var result = Parse("""{"id":"r","email":"a@b.co","type":"resubscribe","occurredAt":"2026-11-28T11:00:00Z","reason":"Asked the admin"}""");

        // Assert
        Assert.True(result.IsValid);
        var e = Assert.Single(result.Events);
        Assert.Equal((ConsentEventType.Resubscribe, new DateTimeOffset(2026, 11, 28, 11, 0, 0, TimeSpan.Zero), "Asked the admin"), (e.Type, e.OccurredAt, e.Reason));
    }

    [Fact]
    public void Parse_BatchWithResubscribeMissingItsReason_RecordsTheRestAndRejectsOnlyIt()
    {
        // Act
        var result = Parse("""
            {"unsubscribes":[
              {"id":"1","email":"a@b.co"},
              {"id":"2","email":"c@d.co","type":"resubscribe","occurredAt":"2026-11-28T11:00:00Z"},
              {"id":"3","email":"e@f.co"}]}
            """);

        // Assert
        Assert.Equal(["1", "3"], result.Events.Select(e => e.Id));
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal((1, "2"), (rejection.Index, rejection.Id));
        Assert.Equal(["unsubscribes[1].reason"], rejection.Errors.Keys);
    }

    [Fact]
    public void Parse_UnsubscribeWithoutOccurredAtOrReason_IsStillRecorded()
    {
        // Act
        var result = Parse("""{"id":"u","email":"a@b.co","type":"unsubscribe"}""");

        // Assert
        Assert.True(result.IsValid);
        Assert.Equal(Now, Assert.Single(result.Events).OccurredAt);
    }
}
