using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// Bodies a careless or hostile sender may produce, through the real composition root and Azurite:
/// none may be answered with a 5xx (a sender retries those forever), and none may leave part of an
/// event behind: what is not accepted leaves no trace, what is accepted is complete.
/// </summary>
public sealed class HostileBodyIntegrationTests : IAsyncLifetime
{
    // Written as text; ÿ (U+00FF) is sent as the lone byte 0xFF, which valid UTF-8 never contains.
    public static TheoryData<string, string> Bodies => new()
    {
        { "invalid UTF-8 in id", Batch("""{"id":"h-ÿ","email":"h@example.com"}""") },
        { "invalid UTF-8 in email", Batch("""{"id":"h-1","email":"hÿ@example.com"}""") },
        { "invalid UTF-8 in type", Batch("""{"id":"h-1","email":"h@example.com","type":"unsubscribeÿ"}""") },
        { "invalid UTF-8 in salesforceId", Batch("""{"id":"h-1","email":"h@example.com","salesforceId":"0035g00000ABCdÿ"}""") },
        { "invalid UTF-8 in occurredAt", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":"2026-11-28T10:00:00ÿ"}""") },
        { "invalid UTF-8 in source", Batch("""{"id":"h-1","email":"h@example.com","source":"linkÿ"}""") },
        { "invalid UTF-8 in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"too many emailsÿ"}""") },
        { "invalid UTF-8 in a property name", Batch("""{"id":"h-1","email":"h@example.com","ÿ":"x"}""") },
        { "invalid UTF-8 outside a string", Batch("""{"id":"h-1","email":"h@example.com"}ÿ""") },
        { "lone high surrogate in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"cut at \ud83d"}""") },
        { "lone low surrogate in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"\ude00 first"}""") },
        { "lone surrogate in id", Batch("""{"id":"h-\ud800","email":"h@example.com"}""") },
        { "lone surrogate in email", Batch("""{"id":"h-1","email":"h\udbff@example.com"}""") },
        { "lone surrogate in a property name", Batch("""{"id":"h-1","email":"h@example.com","\ud800":1}""") },
        { "control characters in reason", Batch("""{"id":"h-1","email":"h@example.com","reason":"a\u0000b\u0007c\u001f"}""") },
        { "NUL in email", Batch("""{"id":"h-1","email":"h\u0000@example.com"}""") },
        { "UTF-8 BOM", "\uFEFF" + Batch("""{"id":"h-1","email":"h@example.com"}""") },
        { "UTF-8 BOM twice", "\uFEFF\uFEFF" + Batch("""{"id":"h-1","email":"h@example.com"}""") },
        { "deeply nested unknown property", Batch($$"""{"id":"h-1","email":"h@example.com","x":{{new string('[', 20)}}{{new string(']', 20)}}}""") },
        { "deeply nested body", new string('[', 100_000) },
        { "duplicate properties", Batch("""{"id":"h-1","id":"h-2","email":"nope","email":"h@example.com","EMAIL":"H2@example.com"}""") },
        { "duplicate unsubscribes", """{"unsubscribes":[{"id":"h-1","email":"h@example.com"}],"unsubscribes":{}}""" },
        { "huge number as id", Batch("""{"id":1e999999,"email":"h@example.com"}""") },
        { "huge numbers in optional fields", Batch("""{"id":"h-1","email":"h@example.com","occurredAt":123456789012345678901234567890,"reason":-1e-999999}""") },
        { "wrong types everywhere", Batch("""{"id":["h-1"],"email":{"address":"h@example.com"},"type":true,"salesforceId":0,"source":[],"reason":{}}""") },
        { "wrong types in optional fields", Batch("""{"id":"h-1","email":"h@example.com","type":true,"salesforceId":0,"source":[],"reason":{}}""") },
        { "event is not an object", Batch("\"h@example.com\"") },
        { "null event", Batch("null") },
        { "unsubscribes is a string", """{"unsubscribes":"h@example.com"}""" },
        { "body is a string", "\"\\ud800\"" },
        { "noncharacter before the JSON", "\uFFFE{}" },
        { "enormous reason", Batch($$"""{"id":"h-1","email":"h@example.com","reason":"{{string.Concat(Enumerable.Repeat("\ud83d\ude00", 20_000))}}"}""") },
        { "enormous id and email", Batch($$"""{"id":"{{new string('i', 50_000)}}","email":"{{new string('e', 50_000)}}@example.com"}""") },
    };

    private readonly TestStorage _storage = new();
    private ServiceProvider _services = null!;

    private CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        // The host's start-up step creates the tables and queues before the first request.
        await _storage.Bootstrap.EnsureCreatedAsync(Ct);
        _services = AppServices.Build(_storage, sandbox: null);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(Bodies), DisableDiscoveryEnumeration = true)]
    public async Task Run_HostileBody_AnswersBelow500AndLeavesNoPartialEvent(string name, string body)
    {
        // Arrange
        var function = new ReceiveUnsubscribes(_services.GetRequiredService<WebhookHandler>());

        // Act
        var outcome = await (await function.Run(IntakeRequests.Json(ToBytes(body)), Ct)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status is 202 or 400 or 413, $"{name}: {outcome.Status} {outcome.Body}");
        var accepted = outcome.Status == 202 ? outcome.Json["accepted"]!.AsArray().Select(n => n!.GetValue<string>()).ToList() : [];
        var intake = _storage.Clients.Tables.GetTableClient(_storage.Names.IntakeTable);
        var recorded = await intake.QueryAsync<TableEntity>(cancellationToken: Ct).Select(e => e.GetString("EventId")).ToListAsync(Ct);
        Assert.Equal(accepted.Order(StringComparer.Ordinal), recorded.Order(StringComparer.Ordinal));
        Assert.Empty(await _storage.IntakeRecords.FindUnfinishedAsync(DateTimeOffset.MaxValue, Ct).ToListAsync(Ct));
        var audit = await _storage.Clients.Tables.GetTableClient(_storage.Names.AuditTable).QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(accepted.Count, audit.Count);
        Assert.All(await _storage.PeekPushMessagesAsync(Ct), m => Assert.Contains(m.EventId, accepted));
    }

    [Fact]
    public async Task Run_ReasonWithBrokenCharacters_IsStoredRepaired()
    {
        // Arrange
        var function = new ReceiveUnsubscribes(_services.GetRequiredService<WebhookHandler>());
        var body = """{"id":"h-1","email":"h@example.com","salesforceId":"0035g00000ABCde","reason":"cut \ud83d and ÿ"}""";

        // Act
        var outcome = await (await function.Run(IntakeRequests.Json(ToBytes(body)), Ct)).ExecuteAsync();

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        var intake = _storage.Clients.Tables.GetTableClient(_storage.Names.IntakeTable);
        var stored = StoredEvent.Deserialize(Assert.Single(await intake.QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct)).GetString("EventJson"));
        Assert.Equal("cut \ufffd and \ufffd", stored.Reason);
    }

    // The hostile event gets a valid Contact Id (unless it sends its own), so an accepted one is pushed.
    private static string Batch(string hostile) =>
        $$"""{"unsubscribes":[{{hostile.Replace("\"email\":\"h@example.com\"", "\"email\":\"h@example.com\",\"salesforceId\":\"0035g00000ABCde\"", StringComparison.Ordinal)}},{"id":"good-1","email":"good@example.com","salesforceId":"0035g00000ABCdf"}]}""";

    // Text to bytes as a careless sender writes them: ÿ becomes the byte 0xFF, and an escaped
    // surrogate stays escaped (the JSON carries it as \ud83d, which is how such bodies arrive).
    private static byte[] ToBytes(string body) =>
        Encoding.UTF8.GetBytes(body.Replace('\u00ff', '\u0001')).Select(b => b == 0x01 ? (byte)0xFF : b).ToArray();
}
