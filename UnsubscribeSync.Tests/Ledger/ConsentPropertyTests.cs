using CsCheck;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;
using UnsubscribeSync.Functions.Sync;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Ledger;

/// <summary>
/// Randomized properties of the consent rules: any interleaving of webhook events (unsubscribes and resubscribes
/// with random occurredAt/receivedAt, duplicates, out of order) and Salesforce changes (opt-outs read from a record,
/// un-checks). Times fall on 30-second steps so ties are common. CsCheck shrinks a failure to a small case.
/// </summary>
public sealed class ConsentPropertyTests : IAsyncLifetime
{
    private const int ModelCases = 2000;
    private const int LedgerCases = 50;
    private static readonly DateTimeOffset T = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);
    private static readonly SalesforceId[] Records = [SalesforceId.Parse("003000000000001"), SalesforceId.Parse("00Q000000000001")];
    private readonly TestStorage _storage = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>One consent event: from the webhook, or an opt-out the nightly sync read from a Salesforce record.</summary>
    public sealed record Ev(string Id, bool Unsubscribe, int OccurredStep, int ReceivedStep, bool FromSalesforce, int Record)
    {
        public DateTimeOffset OccurredAt => T.AddSeconds(30 * OccurredStep);

        public DateTimeOffset ReceivedAt => T.AddSeconds(30 * ReceivedStep);

        public DateTimeOffset OrderedAt => ConsentRules.OrderingTime(OccurredAt, ReceivedAt);

        public ConsentState State => Unsubscribe ? ConsentState.Unsubscribed : ConsentState.Subscribed;

        public ConsentEvent ToEvent(EmailAddress email) => new(
            Id,
            Unsubscribe ? ConsentEventType.Unsubscribe : ConsentEventType.Resubscribe,
            email,
            Records[Record],
            OccurredAt,
            ReceivedAt,
            FromSalesforce ? "salesforce" : "manual",
            "property test",
            ReadFromRecord: FromSalesforce);
    }

    // Received within 5 minutes; occurredAt up to 5 minutes before or after receipt (a fast or slow sender clock).
    // A Salesforce change is always an opt-out: under Reassert an un-check becomes no ledger event at all.
    private static readonly Gen<Ev> GenEv =
        Gen.Select(Gen.Bool, Gen.Int[0, 10], Gen.Int[-10, 10], Gen.Bool, Gen.Int[0, 1])
            .Select((unsubscribe, received, skew, fromSalesforce, record) =>
                new Ev(string.Empty, unsubscribe || fromSalesforce, received + skew, received, fromSalesforce, record));

    // A pool of distinct events, delivered as a random sequence of them: repeats are duplicates, order is arbitrary.
    private static readonly Gen<Ev[]> GenDeliveries =
        GenEv.Array[1, 6]
            .Select(pool => pool.Select((e, i) => e with { Id = (e.FromSalesforce ? "sf:" : "evt-") + i }).ToArray())
            .SelectMany(pool => Gen.Int[0, pool.Length - 1].Array[1, 12].Select(order => order.Select(i => pool[i]).ToArray()));

    public ValueTask InitializeAsync() => new(_storage.Bootstrap.EnsureCreatedAsync(Ct));

    public ValueTask DisposeAsync() => _storage.DisposeAsync();

    /// <summary>The rule as the issue states it: unsubscribed unless the latest resubscribe is newer than every unsubscribe.</summary>
    private static ConsentState Expected(IEnumerable<Ev> deliveries)
    {
        var events = deliveries.DistinctBy(e => e.Id).ToList();
        var lastResubscribe = events.Where(e => !e.Unsubscribe).Select(e => (DateTimeOffset?)e.OrderedAt).Max();
        var lastUnsubscribe = events.Where(e => e.Unsubscribe).Select(e => (DateTimeOffset?)e.OrderedAt).Max();
        return lastResubscribe is { } r && (lastUnsubscribe is not { } u || r > u) ? ConsentState.Subscribed : ConsentState.Unsubscribed;
    }

    /// <summary>What LedgerStore.ApplyAsync does to the state row, in memory: decide by the rule, keep the ordering point.</summary>
    private static ConsentStateEntity? ApplyModel(ConsentStateEntity? state, Ev e)
    {
        var decision = ConsentRules.Decide(state, e.Id, e.State, e.OrderedAt);
        return decision is ConsentDecision.Applied or ConsentDecision.Reaffirmed
            ? new ConsentStateEntity { State = e.State.ToString(), DecidedAt = e.OrderedAt, StateEventId = e.Id }
            : state;
    }

    [Fact]
    public void Decide_AnyInterleavingOfEvents_EndsUnsubscribedUnlessTheLastResubscribeIsNewerThanEveryUnsubscribe()
    {
        GenDeliveries.Sample(
            deliveries =>
            {
                var state = deliveries.Aggregate((ConsentStateEntity?)null, ApplyModel);
                Assert.Equal(Expected(deliveries), state!.ConsentState);
            },
            iter: ModelCases);
    }

    [Fact]
    public void Decide_AnyInterleavingOfEvents_OnlyAResubscribeEverClearsAnOptOut()
    {
        GenDeliveries.Sample(
            deliveries =>
            {
                ConsentStateEntity? state = null;
                foreach (var e in deliveries)
                {
                    var before = state?.ConsentState;
                    state = ApplyModel(state, e);
                    if (before == ConsentState.Unsubscribed && state!.ConsentState == ConsentState.Subscribed)
                    {
                        Assert.False(e.Unsubscribe, $"{e.Id} cleared an opt-out without being a resubscribe");
                        Assert.False(e.FromSalesforce, $"{e.Id} cleared an opt-out from a Salesforce change");
                    }
                }
            },
            iter: ModelCases);
    }

    [Fact]
    public void InboundRulesDecide_UncheckUnderReassertOrHeldByAnotherRecord_NeverResubscribes()
    {
        var gen = Gen.Select(Gen.Bool, Gen.Enum<LinkStatus>(), Gen.Bool, Gen.Int[-10, 10], Gen.Bool, Gen.Bool, Gen.Bool);
        gen.Sample(
            (subscribed, status, desired, modstampStep, resubscribePolicy, heldElsewhere, resolveByEmail) =>
            {
                // Only the policy Resubscribe, with no other record holding the opt-out, may turn an un-check into a resubscribe.
                if (resubscribePolicy && !heldElsewhere)
                {
                    return;
                }

                var state = new ConsentStateEntity { State = (subscribed ? ConsentState.Subscribed : ConsentState.Unsubscribed).ToString(), DecidedAt = T, StateEventId = "evt" };
                var link = Links.InStatus("k", Records[0], status, desired, "evt", T);
                var options = new SyncOptions
                {
                    SalesforceUncheck = resubscribePolicy ? SalesforceUncheckPolicy.Resubscribe : SalesforceUncheckPolicy.Reassert,
                    ResolveByEmail = resolveByEmail,
                };
                var (action, _) = InboundRules.Decide(state, link, salesforceOptedOut: false, T.AddSeconds(30 * modstampStep), options, heldElsewhere, "HasOptedOutOfEmail");
                Assert.NotEqual(InboundAction.ImportResubscribe, action);
            },
            iter: ModelCases);
    }

    [Fact]
    public async Task ApplyAsync_AnyInterleavingOnTheRealLedger_FollowsTheOrderingRuleOnStateAndLinks()
    {
        var cases = 0;
        await GenDeliveries.SampleAsync(
            async deliveries =>
            {
                // A fresh address per case, in one set of tables, keeps 50 cases to a few seconds on Azurite.
                EmailAddress.TryCreate($"prop{Interlocked.Increment(ref cases)}-{Guid.NewGuid():N}@example.com", out var email, out _);
                foreach (var e in deliveries)
                {
                    await _storage.Ledger.ApplyAsync(e.ToEvent(email!), Ct);
                }

                var record = (await _storage.Ledger.GetAsync(email!.Key, Ct))!;
                var expected = Expected(deliveries);
                Assert.Equal(expected, record.State.ConsentState);
                Assert.All(record.Links, l => Assert.Equal(expected == ConsentState.Unsubscribed, l.DesiredOptOut));
            },
            iter: LedgerCases,
            threads: 1);
    }
}
