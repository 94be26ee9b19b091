using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>Bodies as a Marketo Engage webhook renders the README's template, through the parser.</summary>
public class MarketoEngageParsingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeZoneInfo Chicago = TimeZoneInfo.FindSystemTimeZoneById("America/Chicago");
    private readonly FakeTimeProvider _time = new(Now);

    private EventParser Parser(string? zone = null) => new(_time, Options.Create(new WebhookOptions { SenderTimeZone = zone }));

    private static Dictionary<string, object?> Lead(
        long id = 1042, string email = "jane.doe@example.com", string? salesforceId = "0035g00000ABCdeAAH", string? dateTime = "2026-11-28 05:59:58", string? reason = null) => new()
        {
            ["lead.Id"] = id,
            ["lead.Email Address"] = email,
            ["lead.SFDC ID"] = salesforceId,
            ["system.dateTime"] = dateTime,
            ["lead.Unsubscribed Reason"] = reason,
        };

    private static byte[] Rendered(Dictionary<string, object?> lead, bool htmlEncode = false) =>
        Encoding.UTF8.GetBytes(MarketoRendering.Render(MarketoRendering.ReadmeTemplate(), lead, htmlEncode));

    private ParseResult Parse(string json, string? zone = null) => Parser(zone).Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_ReadmeTemplateRendered_RecordsTheUnsubscribeWithoutWarnings()
    {
        // Act
        var result = Parser().Parse(Rendered(Lead(reason: "Unsubscribed via the email's link")));

        // Assert
        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
        var e = Assert.Single(result.Events);
        Assert.Equal(ConsentEventType.Unsubscribe, e.Type);
        Assert.Equal("jane.doe@example.com", e.Email.Value);
        Assert.Equal("0035g00000ABCdeAAH", e.SalesforceId?.Value);
        Assert.Equal("link", e.Source);
        Assert.Equal("Unsubscribed via the email's link", e.Reason);
        Assert.Matches("^mkto-1042-[0-9a-f]{16}$", e.Id);
    }

    [Fact]
    public void Parse_DateTimeWithoutOffsetAndNoZone_UsesTheTimeOfReceiptWithoutWarning()
    {
        // Act
        var result = Parser().Parse(Rendered(Lead(dateTime: "2026-11-28 05:59:58")));

        // Assert
        Assert.Equal(Now, Assert.Single(result.Events).OccurredAt);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Parse_DateTimeWithoutOffsetAndSenderTimeZone_IsReadInThatZone()
    {
        // Arrange: 05:59:58 in Chicago in November is CST, UTC-6.
        var rendered = MarketoRendering.SystemDateTime(Now.AddSeconds(-2), Chicago);

        // Act
        var result = Parser("America/Chicago").Parse(Rendered(Lead(dateTime: rendered)));

        // Assert
        Assert.Equal("2026-11-28 05:59:58", rendered);
        Assert.Equal(Now.AddSeconds(-2), Assert.Single(result.Events).OccurredAt);
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void Parse_AmbiguousLocalTimeWhenClocksGoBack_TakesTheLaterInstant()
    {
        // Arrange: 01:30 on 1 Nov 2026 happens twice in Chicago (06:30Z in CDT, then 07:30Z in CST).
        var json = """{"marketoLeadId":7,"email":"a@b.co","occurredAt":"2026-11-01 01:30:00"}""";

        // Act
        var result = Parse(json, "America/Chicago");

        // Assert
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 7, 30, 0, TimeSpan.Zero), Assert.Single(result.Events).OccurredAt);
    }

    [Fact]
    public void Parse_ZoneThatPutsTheTimeInTheFuture_UsesTheTimeOfReceiptAndWarns()
    {
        // Arrange: a Berlin instance renders 11:59:58Z as 12:59:58; read as Chicago's wall clock it is 7 hours ahead.
        var json = """{"marketoLeadId":7,"email":"a@b.co","occurredAt":"2026-11-28 12:59:58"}""";

        // Act
        var result = Parse(json, "America/Chicago");

        // Assert
        Assert.Equal(Now, Assert.Single(result.Events).OccurredAt);
        Assert.Contains("5 minutes in the future", Assert.Single(result.Warnings).Message);
    }

    [Fact]
    public void Parse_PersonWithoutSalesforceId_RecordsTheEventAwaitingAnIdWithoutWarning()
    {
        // Act: {{lead.SFDC ID:default=}} renders as "".
        var result = Parser().Parse(Rendered(Lead(salesforceId: null)));

        // Assert
        var e = Assert.Single(result.Events);
        Assert.Null(e.SalesforceId);
        Assert.Empty(result.Warnings);
        Assert.Contains("\"salesforceId\": \"\"", MarketoRendering.Render(MarketoRendering.ReadmeTemplate(), Lead(salesforceId: null)));
    }

    [Fact]
    public void Parse_HtmlEncodedTokens_AreDecoded()
    {
        // Act
        var result = Parser().Parse(Rendered(Lead(email: "O'Brien@Example.com", reason: "Too many emails & calls <weekly>"), htmlEncode: true));

        // Assert
        var e = Assert.Single(result.Events);
        Assert.Equal("o'brien@example.com", e.Email.Value);
        Assert.Equal("Too many emails & calls <weekly>", e.Reason);
    }

    [Fact]
    public void Parse_HtmlEntitiesFromAnotherSender_AreKeptAsSent()
    {
        // Act: only a Marketo-rendered event (one with marketoLeadId) is HTML-decoded.
        var result = Parse("""{"id":"a","email":"a@b.co","reason":"AT&amp;T"}""");

        // Assert
        Assert.Equal("AT&amp;T", Assert.Single(result.Events).Reason);
    }

    [Fact]
    public void DeriveMarketoId_SameRenderedRequest_IsTheSameIdAndANewOneDiffers()
    {
        // Arrange
        var first = Parser().Parse(Rendered(Lead()));
        _time.Advance(TimeSpan.FromMinutes(1));

        // Act
        var again = Parser().Parse(Rendered(Lead()));
        var later = Parser().Parse(Rendered(Lead(dateTime: "2026-11-28 06:01:00")));
        var otherLead = Parser().Parse(Rendered(Lead(id: 1043)));
        var otherAddress = Parser().Parse(Rendered(Lead(email: "john@example.com")));

        // Assert
        var id = Assert.Single(first.Events).Id;
        Assert.Equal(id, Assert.Single(again.Events).Id);
        Assert.Equal(
            4,
            new[] { id, Assert.Single(later.Events).Id, Assert.Single(otherLead.Events).Id, Assert.Single(otherAddress.Events).Id }.Distinct().Count());
        Assert.Equal(EventParser.DeriveMarketoId(1042, EmailAddress.FromNormalized("jane.doe@example.com"), "2026-11-28 05:59:58"), id);
    }

    [Fact]
    public void DeriveMarketoId_NoDateTime_UsesTheTimeOfReceiptSoLaterRequestsAreNewEvents()
    {
        // Arrange
        var first = Parser().Parse(Rendered(Lead(dateTime: null)));
        _time.Advance(TimeSpan.FromSeconds(1));

        // Act
        var second = Parser().Parse(Rendered(Lead(dateTime: null)));

        // Assert
        Assert.NotEqual(Assert.Single(first.Events).Id, Assert.Single(second.Events).Id);
        Assert.Empty(second.Warnings);
    }

    [Theory]
    [InlineData("1042", "mkto-1042-")]
    [InlineData("\"1042\"", "mkto-1042-")]
    [InlineData("0", "mkto-")]
    [InlineData("\"\"", "mkto-")]
    public void Parse_MarketoLeadIdAsNumberOrString_DerivesTheSameKindOfId(string leadId, string prefix)
    {
        // Act
        var result = Parse($$"""{"marketoLeadId":{{leadId}},"email":"a@b.co","occurredAt":"2026-11-28 05:00:00"}""");

        // Assert
        var e = Assert.Single(result.Events);
        Assert.StartsWith(prefix, e.Id, StringComparison.Ordinal);
        Assert.Equal(prefix.Length + 16, e.Id.Length);
        Assert.Empty(result.Warnings);
    }

    [Theory]
    [InlineData("\"abc\"")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("true")]
    public void Parse_UnusableMarketoLeadId_DerivesTheIdWithoutItAndWarns(string leadId)
    {
        // Act
        var result = Parse($$"""{"marketoLeadId":{{leadId}},"email":"a@b.co"}""");

        // Assert
        Assert.Matches("^mkto-[0-9a-f]{16}$", Assert.Single(result.Events).Id);
        Assert.Equal("marketoLeadId", Assert.Single(result.Warnings).Field);
    }

    [Theory]
    [InlineData("\"evt-42\"", "evt-42", null)]
    [InlineData("\"\"", null, null)]
    [InlineData("42", null, "id")]
    [InlineData("\"évt\"", null, "id")]
    public void Parse_MarketoEventWithItsOwnId_UsesAUsableOneAndDerivesOtherwise(string id, string? expected, string? warned)
    {
        // Act
        var result = Parse($$"""{"marketoLeadId":7,"id":{{id}},"email":"a@b.co"}""");

        // Assert
        var e = Assert.Single(result.Events);
        Assert.Equal(expected ?? e.Id, e.Id);
        Assert.Equal(expected is null, e.Id.StartsWith("mkto-7-", StringComparison.Ordinal));
        Assert.Equal(warned, result.Warnings.SingleOrDefault()?.Field);
    }

    [Theory]
    [InlineData("true", ConsentEventType.Unsubscribe)]
    [InlineData("\"true\"", ConsentEventType.Unsubscribe)]
    [InlineData("\"TRUE\"", ConsentEventType.Unsubscribe)]
    [InlineData("\" True \"", ConsentEventType.Unsubscribe)]
    [InlineData("1", ConsentEventType.Unsubscribe)]
    [InlineData("\"1\"", ConsentEventType.Unsubscribe)]
    [InlineData("\"\"", ConsentEventType.Unsubscribe)]
    [InlineData("false", ConsentEventType.Resubscribe)]
    [InlineData("\"false\"", ConsentEventType.Resubscribe)]
    [InlineData("\"False\"", ConsentEventType.Resubscribe)]
    [InlineData("0", ConsentEventType.Resubscribe)]
    [InlineData("\"0\"", ConsentEventType.Resubscribe)]
    public void Parse_UnsubscribedAsBooleanOrString_GivesTheType(string unsubscribed, ConsentEventType expected)
    {
        // Act
        var result = Parse(
            $$"""{"marketoLeadId":7,"email":"a@b.co","unsubscribed":{{unsubscribed}},"occurredAt":"2026-11-28 05:00:00","reason":"Opted back in by the admin"}""",
            "America/Chicago");

        // Assert
        Assert.Equal(expected, Assert.Single(result.Events).Type);
        Assert.Empty(result.Warnings);
    }

    [Theory]
    [InlineData("\"yes\"")]
    [InlineData("2")]
    [InlineData("[]")]
    public void Parse_UnusableUnsubscribed_RecordsAnUnsubscribeAndWarns(string unsubscribed)
    {
        // Act
        var result = Parse($$"""{"marketoLeadId":7,"email":"a@b.co","unsubscribed":{{unsubscribed}}}""");

        // Assert
        Assert.Equal(ConsentEventType.Unsubscribe, Assert.Single(result.Events).Type);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("unsubscribed", warning.Field);
        Assert.Contains("must be true or false; it was recorded as an unsubscribe", warning.Message);
    }

    [Theory]
    [InlineData("unsubscribe", "false")]
    [InlineData("resubscribe", "\"true\"")]
    public void Parse_UnsubscribedContradictsType_RecordsAnUnsubscribeAndWarns(string type, string unsubscribed)
    {
        // Act
        var result = Parse(
            $$"""{"id":"a","email":"a@b.co","type":"{{type}}","unsubscribed":{{unsubscribed}},"occurredAt":"2026-11-28T11:00:00Z","reason":"r"}""");

        // Assert
        Assert.Equal(ConsentEventType.Unsubscribe, Assert.Single(result.Events).Type);
        Assert.Contains("contradicts", Assert.Single(result.Warnings).Message);
    }

    [Fact]
    public void Parse_MarketoResubscribeWithoutSenderTimeZone_IsRejectedNamingOccurredAt()
    {
        // Act: without a zone, an offset-less time is no evidence of when the person was opted back in.
        var result = Parse("""{"marketoLeadId":7,"email":"a@b.co","type":"resubscribe","occurredAt":"2026-11-28 05:00:00","reason":"Asked the admin"}""");

        // Assert
        Assert.Empty(result.Events);
        Assert.Contains("is required for a resubscribe", Assert.Single(result.Rejected).Errors["occurredAt"][0]);
    }

    [Theory]
    [InlineData("2026-11-28T05:00:00", "America/Chicago", "2026-11-28T11:00:00Z")]
    [InlineData("2026-11-28 05:00", "America/Chicago", "2026-11-28T11:00:00Z")]
    [InlineData("2026-07-01 05:00:00.250", "America/Chicago", "2026-07-01T10:00:00.25Z")]
    [InlineData("2026-11-28 10:00:00Z", null, "2026-11-28T10:00:00Z")]
    [InlineData("2026-11-28 10:00:00+01:00", "America/Chicago", "2026-11-28T09:00:00Z")]
    [InlineData("2026-11-28t10:00:00z", null, "2026-11-28T10:00:00Z")]
    public void Parse_DateTimeForms_AreReadAsDocumented(string occurredAt, string? zone, string expected)
    {
        // Act: the same rules for every sender, Marketo or not.
        var result = Parse($$"""{"id":"a","email":"a@b.co","occurredAt":"{{occurredAt}}"}""", zone);

        // Assert
        Assert.Empty(result.Warnings);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Assert.Single(result.Events).OccurredAt);
    }
}
