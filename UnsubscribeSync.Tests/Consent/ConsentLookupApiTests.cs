using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Consent;

/// <summary><c>GET /api/consent/{email}</c> end to end: the function class over the real composition root and Azurite.</summary>
public sealed class ConsentLookupApiTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-28T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private ConsentApp _app = null!;

    public async ValueTask InitializeAsync() => _app = await ConsentApp.CreateAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    [Fact]
    public async Task Run_KnownAddress_ReturnsItsStateLinkedRecordsAndAuditTrail()
    {
        // Arrange: unsubscribed with a Contact, resubscribed, unsubscribed again.
        await _app.AcceptAsync(ConsentApp.Event("evt-1", "jane@example.com", salesforceId: "0035g00000ABCde"));
        await _app.AcceptAsync(ConsentApp.Event("evt-2", "jane@example.com", ConsentEventType.Resubscribe, T0.AddHours(1)));
        await _app.AcceptAsync(ConsentApp.Event("evt-3", "jane@example.com", occurredAt: T0.AddHours(2), source: "bounce"));

        // Act
        var outcome = await _app.GetConsentAsync("Jane@Example.com");

        // Assert
        Assert.Equal(200, outcome.Status);
        Assert.Equal("no-store", outcome.Headers.CacheControl.ToString());
        var json = outcome.Json;
        Assert.Equal("jane@example.com", json["email"]!.GetValue<string>());
        Assert.Equal(EmailAddress.KeyOf("jane@example.com"), json["emailKey"]!.GetValue<string>());
        Assert.Equal("unsubscribed", json["state"]!.GetValue<string>());
        Assert.Equal(T0.AddHours(2), json["since"]!.GetValue<DateTimeOffset>());
        Assert.Equal("evt-3", json["eventId"]!.GetValue<string>());
        Assert.Equal("bounce", json["source"]!.GetValue<string>());
        Assert.Equal(3, json["version"]!.GetValue<long>());
        var link = Assert.Single(json["links"]!.AsArray())!;
        Assert.Equal(("0035g00000ABCdeAAH", "Contact", "Pending", true), (link["salesforceId"]!.GetValue<string>(), link["objectType"]!.GetValue<string>(),
            link["status"]!.GetValue<string>(), link["desiredOptOut"]!.GetValue<bool>()));
        var audit = json["audit"]!.AsArray();
        Assert.Equal(["evt-1", "evt-2", "evt-3"], audit.Select(a => a!["eventId"]!.GetValue<string>()));
        Assert.Equal(["unsubscribe", "resubscribe", "unsubscribe"], audit.Select(a => a!["type"]!.GetValue<string>()));
        Assert.Equal("Asked to be emailed again", audit[1]!["reason"]!.GetValue<string>());
        Assert.False(json["auditTruncated"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Run_ByLedgerKey_ReturnsTheSameAddressWithoutItInTheUrl()
    {
        // Arrange
        await _app.AcceptAsync(ConsentApp.Event("evt-1", "private@example.com"));

        // Act
        var outcome = await _app.GetConsentAsync(EmailAddress.KeyOf("private@example.com").ToUpperInvariant());

        // Assert
        Assert.Equal(200, outcome.Status);
        Assert.Equal("private@example.com", outcome.Json["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task Run_UnknownAddress_Returns404Problem()
    {
        // Act
        var outcome = await _app.GetConsentAsync("nobody@example.com");

        // Assert
        Assert.Equal(404, outcome.Status);
        Assert.Equal("application/problem+json", outcome.ContentType);
        Assert.Equal("urn:unsubscribesync:problem:not-found", outcome.Json["type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("not-an-address")]
    [InlineData("changes")]
    [InlineData("a@b")]
    public async Task Run_InvalidAddress_Returns400NamingEmail(string segment)
    {
        // Act
        var outcome = await _app.GetConsentAsync(segment);

        // Assert
        Assert.Equal(400, outcome.Status);
        Assert.Equal(["email"], outcome.ErrorFields);
    }

    [Fact]
    public async Task Run_WithoutTheConsentKey_Returns401AndNoData()
    {
        // Arrange
        await _app.AcceptAsync(ConsentApp.Event("evt-1", "jane@example.com"));

        // Act
        var outcome = await _app.GetConsentAsync("jane@example.com", key: null);

        // Assert
        Assert.Equal(401, outcome.Status);
        Assert.Equal(["X-Consent-Key"], outcome.ErrorFields);
        Assert.DoesNotContain("jane@example.com", outcome.Body);
    }

    [Fact]
    public async Task Run_StorageDown_Returns503WithRetryAfter()
    {
        // Arrange
        await using var down = await ConsentApp.CreateAsync(storage: new TestStorage(TestStorage.UnreachableConnectionString), createStorage: false);

        // Act
        var outcome = await down.GetConsentAsync("jane@example.com");

        // Assert
        Assert.Equal(503, outcome.Status);
        Assert.Equal("30", outcome.Headers.RetryAfter.ToString());
    }
}
