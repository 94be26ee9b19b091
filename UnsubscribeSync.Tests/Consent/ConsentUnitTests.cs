using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Consent;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Consent;

public sealed class ChangeFeedCursorTests
{
    [Theory]
    [InlineData("", 0L)]
    [InlineData("0123456789abcdef0123456789abcdef", 1L)]
    [InlineData("0123456789abcdef0123456789abcdef", long.MaxValue)]
    public void TryParse_CursorItWrote_ReadsItBack(string feedId, long sequence)
    {
        // Arrange
        var text = new ChangeFeedCursor(feedId, sequence).ToString();

        // Act
        var ok = ChangeFeedCursor.TryParse(text, out var cursor);

        // Assert
        Assert.True(ok);
        Assert.Equal(new ChangeFeedCursor(feedId, sequence), cursor);
        Assert.DoesNotContain('=', text);
        Assert.DoesNotContain('+', text);
        Assert.DoesNotContain('/', text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("42")]
    [InlineData("!!!")]
    [InlineData("MTo6NQ")] // "1::5": no feed, yet past its start
    [InlineData("Mjo6MA")] // "2::0": another version
    [InlineData("MTpBQkM6MQ")] // "1:ABC:1": not a feed id
    [InlineData("MTowMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjotMQ")] // negative sequence
    public void TryParse_AnythingElse_IsRefused(string text)
    {
        // Act
        var ok = ChangeFeedCursor.TryParse(text, out var cursor);

        // Assert
        Assert.False(ok);
        Assert.Null(cursor);
    }
}

public sealed class ConsentCsvTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("=1+2", "'=1+2")]
    [InlineData("+cmd@example.com", "'+cmd@example.com")]
    [InlineData("-x", "'-x")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tx", "'\tx")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData("=a,\"b\"", "\"'=a,\"\"b\"\"\"")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void Cell_Value_IsNeutralisedAndQuotedAsNeeded(string? value, string expected)
    {
        // Act + Assert
        Assert.Equal(expected, ConsentCsv.Cell(value));
    }

    [Fact]
    public void Write_NoEntries_IsTheHeaderRowAlone()
    {
        // Act
        var csv = ConsentCsv.Write([]);

        // Assert
        Assert.Equal("email,state,since,type,source,channel,event_id,salesforce_id,occurred_at,changed_at,version,sequence\r\n", csv);
    }
}

public sealed class ConsentAccessTests
{
    private const string Key = "current-key-0123456789abcdef0123456789";

    private static ConsentAccess Access(string? key, string? previous = null) =>
        new(Options.Create(new ConsentOptions { ApiKey = key, PreviousApiKey = previous }), NullLogger<ConsentAccess>.Instance);

    private static HttpRequest Request(string? key) =>
        HttpTestExtensions.GetRequest("/api/consent/changes", headers: key is null ? null : new Dictionary<string, string> { [ConsentOptions.KeyHeader] = key });

    [Theory]
    [InlineData(Key, null)]
    [InlineData("previous-key-0123456789abcdef012345678", "previous-key-0123456789abcdef012345678")]
    public void Check_CurrentOrPreviousKey_LetsTheRequestThrough(string presented, string? previous)
    {
        // Act + Assert
        Assert.Null(Access(Key, previous).Check(Request(presented)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("current-key-0123456789abcdef012345678")]
    [InlineData(Key + " ")]
    [InlineData("CURRENT-KEY-0123456789ABCDEF0123456789")]
    public async Task Check_MissingOrWrongKey_Is401(string? presented)
    {
        // Act
        var outcome = await Access(Key).Check(Request(presented))!.ExecuteAsync();

        // Assert
        Assert.Equal(401, outcome.Status);
        Assert.Equal([ConsentOptions.KeyHeader], outcome.ErrorFields);
    }

    [Fact]
    public async Task Check_NoKeyConfigured_Is404EvenWithAKey()
    {
        // Act: an empty previous key must not let an empty or any presented key through either.
        var outcome = await Access(null).Check(Request(Key))!.ExecuteAsync();

        // Assert
        Assert.Equal(404, outcome.Status);
        Assert.Equal("urn:unsubscribesync:problem:consent-api-disabled", outcome.Json["type"]!.GetValue<string>());
    }
}

public sealed class NotificationRulesTests
{
    [Theory]
    [InlineData("webhook", "unsubscribe", false)]
    [InlineData("webhook", "resubscribe", true)]
    [InlineData("nightly-sync", "unsubscribe", true)]
    [InlineData("nightly-sync", "resubscribe", true)]
    [InlineData("backfill", "unsubscribe", false)]
    [InlineData("backfill", "resubscribe", false)]
    public void ShouldNotify_Change_OnlyWhatTheSenderDidNotDoItself(string channel, string type, bool expected)
    {
        // Arrange
        var rules = new NotificationRules(Options.Create(new NotifyOptions { Url = "https://sender.example.com/hook", SigningSecret = "s" }));
        var off = new NotificationRules(Options.Create(new NotifyOptions()));
        var change = new ConsentChangeEntity { Channel = channel, Type = type };

        // Act + Assert
        Assert.Equal(expected, rules.ShouldNotify(change));
        Assert.False(off.ShouldNotify(change));
    }
}

public sealed class NotificationSignatureTests
{
    [Fact]
    public void Create_Signature_PassesOurOwnWebhookVerifier()
    {
        // Arrange: the receiver can check our notifications with the code that checks our webhook's callers.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
        var body = Encoding.UTF8.GetBytes("""{"v":1,"change":{"sequence":7,"email":"jane@example.com"}}""");
        var verifier = new WebhookSignatureVerifier(Options.Create(new WebhookOptions { SigningSecret = "s3cret" }), time);

        // Act
        var header = NotificationSignature.Create("s3cret", time.GetUtcNow(), body);

        // Assert
        Assert.Null(verifier.Verify(header, body));
        Assert.Equal(WebhookSignatureVerifier.CreateHeader("s3cret", time.GetUtcNow().ToUnixTimeSeconds(), body), header);
        Assert.NotNull(verifier.Verify(NotificationSignature.Create("other", time.GetUtcNow(), body), body));
        Assert.Equal(WebhookSignatureVerifier.HeaderName, NotifyOptions.SignatureHeader);
    }
}

public sealed class ConsentNegotiationTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("application/json", false)]
    [InlineData("*/*", false)]
    [InlineData("text/csv", true)]
    [InlineData("text/csv; charset=utf-8", true)]
    [InlineData("application/json, text/csv", true)]
    [InlineData("application/json;q=0.9, text/csv;q=0.5", false)]
    [InlineData("text/csv;q=0", false)]
    [InlineData("text/html, */*;q=0.8", false)]
    public void WantsCsv_Accept_PicksCsvOnlyWhenPreferred(string? accept, bool expected)
    {
        // Arrange
        var request = HttpTestExtensions.GetRequest("/api/consent/changes", headers: accept is null ? null : new Dictionary<string, string> { ["Accept"] = accept });

        // Act + Assert
        Assert.Equal(expected, ConsentChangesHandler.WantsCsv(request));
    }
}
