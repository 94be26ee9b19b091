using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Ledger;

/// <summary>The ordering rule on real ledger rows: events are ordered by the earlier of when the sender says they happened and when we received them.</summary>
public sealed class LedgerOrderingTests : IAsyncLifetime
{
    private const string Email = "ordering@example.com";
    private static readonly SalesforceId Contact = SalesforceId.Parse("003000000000001");
    private static readonly DateTimeOffset T = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private readonly TestStorage _storage = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => new(_storage.Bootstrap.EnsureCreatedAsync(Ct));

    public ValueTask DisposeAsync() => _storage.DisposeAsync();

    private Task<LedgerApplyResult> ApplyAsync(string id, ConsentEventType type, DateTimeOffset occurredAt, DateTimeOffset receivedAt)
    {
        EmailAddress.TryCreate(Email, out var address, out _);
        return _storage.Ledger.ApplyAsync(new ConsentEvent(id, type, address!, Contact, occurredAt, receivedAt, "manual", "test"), Ct);
    }

    [Fact]
    public async Task ApplyAsync_ResubscribeFromFastClockThenUnsubscribeTwoMinutesLater_EndsUnsubscribed()
    {
        // Arrange: the address is unsubscribed; an admin's tool with a clock 4 minutes fast resubscribes it at T+1.
        await ApplyAsync("evt-unsub-1", ConsentEventType.Unsubscribe, T, T);
        await ApplyAsync("evt-resub", ConsentEventType.Resubscribe, T.AddMinutes(5), T.AddMinutes(1));

        // Act: the person unsubscribes for real two minutes after the resubscribe was sent.
        var result = await ApplyAsync("evt-unsub-2", ConsentEventType.Unsubscribe, T.AddMinutes(3), T.AddMinutes(3));

        // Assert
        Assert.Equal((ConsentDecision.Applied, ConsentState.Unsubscribed), (result.Decision, result.State));
        var state = (await _storage.Ledger.GetStateAsync(EmailAddress.KeyOf(Email), Ct))!;
        Assert.Equal(("evt-unsub-2", T.AddMinutes(3)), (state.StateEventId, state.DecidedAt));
    }

    [Fact]
    public async Task ApplyAsync_EventStampedInTheFuture_IsOrderedByItsReceipt()
    {
        // Act
        await ApplyAsync("evt-resub", ConsentEventType.Resubscribe, T.AddMinutes(4), T);

        // Assert: the ordering point is the receipt; the sender's stamp is kept only as evidence.
        var state = (await _storage.Ledger.GetStateAsync(EmailAddress.KeyOf(Email), Ct))!;
        Assert.Equal(T, state.DecidedAt);
    }
}
