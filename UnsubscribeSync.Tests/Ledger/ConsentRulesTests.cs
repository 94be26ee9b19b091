using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Tests.Ledger;

public class ConsentRulesTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    private static ConsentStateEntity State(ConsentState state, DateTimeOffset decidedAt, string eventId = "e0") => new()
    {
        State = state.ToString(),
        DecidedAt = decidedAt,
        StateSince = decidedAt,
        StateEventId = eventId,
    };

    [Fact]
    public void Decide_NoState_Applies()
    {
        Assert.Equal(ConsentDecision.Applied, ConsentRules.Decide(null, "e1", ConsentState.Unsubscribed, T));
    }

    [Fact]
    public void Decide_LaterOppositeEvent_Applies()
    {
        Assert.Equal(ConsentDecision.Applied, ConsentRules.Decide(State(ConsentState.Unsubscribed, T), "e1", ConsentState.Subscribed, T.AddSeconds(1)));
    }

    [Fact]
    public void Decide_OlderOppositeEvent_IsSuperseded()
    {
        Assert.Equal(ConsentDecision.Superseded, ConsentRules.Decide(State(ConsentState.Subscribed, T), "e1", ConsentState.Unsubscribed, T.AddSeconds(-1)));
    }

    [Fact]
    public void Decide_TieUnsubscribeAgainstSubscribed_UnsubscribeWins()
    {
        Assert.Equal(ConsentDecision.Applied, ConsentRules.Decide(State(ConsentState.Subscribed, T), "e1", ConsentState.Unsubscribed, T));
    }

    [Fact]
    public void Decide_TieResubscribeAgainstUnsubscribed_IsSuperseded()
    {
        Assert.Equal(ConsentDecision.Superseded, ConsentRules.Decide(State(ConsentState.Unsubscribed, T), "e1", ConsentState.Subscribed, T));
    }

    [Fact]
    public void Decide_LaterSameStateEvent_Reaffirms()
    {
        Assert.Equal(ConsentDecision.Reaffirmed, ConsentRules.Decide(State(ConsentState.Unsubscribed, T), "e1", ConsentState.Unsubscribed, T.AddMinutes(1)));
    }

    [Fact]
    public void Decide_SameEventAgain_IsAlreadyApplied()
    {
        Assert.Equal(ConsentDecision.AlreadyApplied, ConsentRules.Decide(State(ConsentState.Unsubscribed, T, "e1"), "e1", ConsentState.Unsubscribed, T));
    }
    [Theory]
    [InlineData(4, 0)]
    [InlineData(-3, -3)]
    [InlineData(0, 0)]
    public void OrderingTime_OccurredAtAgainstReceipt_IsTheEarlier(int occurredMinutes, int expectedMinutes)
    {
        Assert.Equal(T.AddMinutes(expectedMinutes), ConsentRules.OrderingTime(T.AddMinutes(occurredMinutes), T));
    }
}
