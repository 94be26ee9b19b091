using UnsubscribeSync.Functions.Consent;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Tests.Consent;

/// <summary><c>GET /api/consent/changes</c> end to end: the function class over the real composition root and Azurite.</summary>
public sealed class ConsentChangesApiTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private ConsentApp _app = null!;

    public async ValueTask InitializeAsync() => _app = await ConsentApp.CreateAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task Run_PagedWithLimit_ReturnsEveryChangeOnceInOrderAndResumesAfterTheLast()
    {
        // Arrange: 250 changes (every address once, every fifth one resubscribed later).
        var events = Enumerable.Range(0, 250).Select(i => ConsentApp.Event($"evt-{i}", $"page{i}@example.com")).ToList();
        await _app.AcceptAsync([.. events.Take(200)]);
        await _app.AcceptAsync([.. Enumerable.Range(0, 40).Select(i => ConsentApp.Event($"back-{i}", $"page{i * 5}@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)))]);
        await _app.AcceptAsync([.. events.Skip(200)]);
        await _app.PublishAllAsync();

        // Act
        var pages = new List<HttpOutcomeView>();
        string? since = null;
        do
        {
            var outcome = await _app.GetChangesAsync(since, "100");
            Assert.Equal(200, outcome.Status);
            var page = new HttpOutcomeView(outcome);
            pages.Add(page);
            since = page.Next;
        }
        while (pages[^1].HasMore);
        var empty = await _app.GetChangesAsync(since, "100");
        await _app.AcceptAsync(ConsentApp.Event("evt-late", "late@example.com"));
        await _app.PublishAllAsync();
        var resumed = new HttpOutcomeView(await _app.GetChangesAsync(since, "100"));

        // Assert
        Assert.Equal([100, 100, 90], pages.Select(p => p.Sequences.Count));
        var all = pages.SelectMany(p => p.Sequences).ToList();
        Assert.Equal(Enumerable.Range(1, 290).Select(i => (long)i), all);
        Assert.Empty(new HttpOutcomeView(empty).Sequences);
        Assert.False(new HttpOutcomeView(empty).HasMore);
        Assert.Equal(since, new HttpOutcomeView(empty).Next);
        Assert.Equal([291L], resumed.Sequences);
        Assert.Equal("late@example.com", resumed.Json["changes"]![0]!["email"]!.GetValue<string>());
        Assert.Equal("no-store", pages[0].Outcome.Headers.CacheControl.ToString());
        Assert.Equal(pages[0].Next, pages[0].Outcome.Headers["X-Next-Cursor"].ToString());
    }

    [Fact]
    public async Task Run_OneChange_ShowsItsStateEventAndSource()
    {
        // Arrange
        await _app.AcceptAsync(ConsentApp.Event("evt-1", "Jane.Doe@Example.com", salesforceId: "0035g00000ABCde", source: "manual"));
        await _app.PublishAllAsync();

        // Act
        var outcome = await _app.GetChangesAsync();

        // Assert
        Assert.Equal(200, outcome.Status);
        Assert.StartsWith("application/json", outcome.ContentType);
        var change = outcome.Json["changes"]![0]!;
        Assert.Equal(1, change["sequence"]!.GetValue<long>());
        Assert.Equal("jane.doe@example.com", change["email"]!.GetValue<string>());
        Assert.Equal("unsubscribed", change["state"]!.GetValue<string>());
        Assert.Equal("unsubscribe", change["type"]!.GetValue<string>());
        Assert.Equal("manual", change["source"]!.GetValue<string>());
        Assert.Equal("webhook", change["channel"]!.GetValue<string>());
        Assert.Equal("evt-1", change["eventId"]!.GetValue<string>());
        Assert.Equal("0035g00000ABCdeAAH", change["salesforceId"]!.GetValue<string>());
        Assert.Equal(T0, change["since"]!.GetValue<DateTimeOffset>());
        Assert.Equal(1, change["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task Run_AcceptCsv_WritesAHeaderRowQuotedCellsAndNeutralisedFormulas()
    {
        // Arrange: an address and an event id a spreadsheet would run as formulas, and an id with a comma and a quote.
        await _app.AcceptAsync(ConsentApp.Event("=HYPERLINK(\"http://evil.example\")", "=cmd@example.com"));
        await _app.PublishAllAsync();
        await _app.AcceptAsync(ConsentApp.Event("evt,\"2\"", "plain@example.com"));
        await _app.PublishAllAsync();

        // Act
        var outcome = await _app.GetChangesAsync(limit: "1", accept: "text/csv");
        var second = await _app.GetChangesAsync(since: outcome.Headers["X-Next-Cursor"].ToString(), accept: "application/json;q=0.5, text/csv");

        // Assert
        Assert.Equal(200, outcome.Status);
        Assert.StartsWith("text/csv", outcome.ContentType);
        var lines = outcome.Body.Split("\r\n");
        Assert.Equal(string.Join(',', ConsentCsv.Columns), lines[0]);
        Assert.StartsWith("'=cmd@example.com,unsubscribed,2026-11-28T10:00:00.0000000Z,unsubscribe,link,webhook,\"'=HYPERLINK(\"\"http://evil.example\"\")\",,", lines[1]);
        Assert.EndsWith(",1,1", lines[1]);
        Assert.Equal([""], lines[2..]);
        Assert.Equal("true", outcome.Headers["X-Has-More"].ToString());
        Assert.Contains("plain@example.com,unsubscribed,", second.Body);
        Assert.Contains(",\"evt,\"\"2\"\"\",", second.Body);
        Assert.Equal("false", second.Headers["X-Has-More"].ToString());
    }

    [Theory]
    [InlineData(null, "0", "limit")]
    [InlineData(null, "1001", "limit")]
    [InlineData(null, "ten", "limit")]
    [InlineData(null, "-5", "limit")]
    [InlineData("not-a-cursor", null, "since")]
    [InlineData("MTpmb286Mw", null, "since")]
    public async Task Run_BadQuery_Returns400NamingTheField(string? since, string? limit, string field)
    {
        // Act
        var outcome = await _app.GetChangesAsync(since, limit);

        // Assert
        Assert.Equal(400, outcome.Status);
        Assert.Equal("application/problem+json", outcome.ContentType);
        Assert.Equal("urn:unsubscribesync:problem:validation", outcome.Json["type"]!.GetValue<string>());
        Assert.Equal([field], outcome.ErrorFields);
    }

    [Fact]
    public async Task Run_CursorOfAnotherFeedOrBeyondTheEnd_Returns400NamingSince()
    {
        // Arrange
        await _app.AcceptAsync(ConsentApp.Event("evt-1", "one@example.com"));
        await _app.PublishAllAsync();
        var head = await _app.Feed.GetHeadAsync(TestContext.Current.CancellationToken);

        // Act
        var beyond = await _app.GetChangesAsync(new ChangeFeedCursor(head.FeedId, head.LastSequence + 1).ToString());
        var other = await _app.GetChangesAsync(new ChangeFeedCursor(new string('a', 32), 1).ToString());
        var atEnd = await _app.GetChangesAsync(new ChangeFeedCursor(head.FeedId, head.LastSequence).ToString());

        // Assert
        Assert.Equal((400, 400, 200), (beyond.Status, other.Status, atEnd.Status));
        Assert.Equal(["since"], beyond.ErrorFields);
        Assert.Equal(["since"], other.ErrorFields);
    }

    [Fact]
    public async Task Run_EmptyFeed_ReturnsNoChangesAndAStartCursorThatLaterSeesTheFirstChange()
    {
        // Act
        var empty = new HttpOutcomeView(await _app.GetChangesAsync());
        await _app.AcceptAsync(ConsentApp.Event("evt-1", "first@example.com"));
        await _app.PublishAllAsync();
        var later = new HttpOutcomeView(await _app.GetChangesAsync(empty.Next));

        // Assert
        Assert.Empty(empty.Sequences);
        Assert.False(empty.HasMore);
        Assert.Equal([1L], later.Sequences);
    }

    [Fact]
    public async Task Run_KeyMissingOrWrong_Returns401AndNeverTheData()
    {
        // Arrange
        await _app.AcceptAsync(ConsentApp.Event("evt-1", "secret@example.com"));
        await _app.PublishAllAsync();

        // Act
        var missing = await _app.GetChangesAsync(key: null);
        var wrong = await _app.GetChangesAsync(key: ConsentApp.ApiKey + "x");

        // Assert
        Assert.Equal((401, 401), (missing.Status, wrong.Status));
        Assert.Equal("urn:unsubscribesync:problem:consent-key", wrong.Json["type"]!.GetValue<string>());
        Assert.DoesNotContain("secret@example.com", missing.Body + wrong.Body);
    }

    [Fact]
    public async Task Run_NoKeyConfigured_Returns404ConsentApiDisabled()
    {
        // Arrange
        await using var off = await ConsentApp.CreateAsync(new Dictionary<string, string?> { ["Consent:ApiKey"] = null });

        // Act
        var outcome = await off.GetChangesAsync();

        // Assert
        Assert.Equal(404, outcome.Status);
        Assert.Equal("urn:unsubscribesync:problem:consent-api-disabled", outcome.Json["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_PreviousKeyDuringRotation_IsAccepted()
    {
        // Arrange
        const string next = "next-consent-key-0123456789abcdef0123456789";
        await using var rotating = await ConsentApp.CreateAsync(new Dictionary<string, string?> { ["Consent:ApiKey"] = next, ["Consent:PreviousApiKey"] = ConsentApp.ApiKey });

        // Act
        var old = await rotating.GetChangesAsync(key: ConsentApp.ApiKey);
        var current = await rotating.GetChangesAsync(key: next);

        // Assert
        Assert.Equal((200, 200), (old.Status, current.Status));
    }

    /// <summary>A JSON page as the tests read it.</summary>
    private sealed class HttpOutcomeView(Infrastructure.HttpOutcome outcome)
    {
        public Infrastructure.HttpOutcome Outcome { get; } = outcome;

        public System.Text.Json.Nodes.JsonNode Json { get; } = outcome.Json;

        public IReadOnlyList<long> Sequences => Json["changes"]!.AsArray().Select(c => c!["sequence"]!.GetValue<long>()).ToList();

        public string Next => Json["next"]!.GetValue<string>();

        public bool HasMore => Json["hasMore"]!.GetValue<bool>();
    }
}
