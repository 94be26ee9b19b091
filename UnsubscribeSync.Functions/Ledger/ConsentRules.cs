namespace UnsubscribeSync.Functions.Ledger;

/// <summary>What an incoming event does to an address's consent state.</summary>
public enum ConsentDecision
{
    /// <summary>The event changes the state.</summary>
    Applied,

    /// <summary>The event agrees with the state and is newer: it becomes the ordering point.</summary>
    Reaffirmed,

    /// <summary>An older (or losing tie) event: kept in the audit, state unchanged.</summary>
    Superseded,

    /// <summary>This very event was applied before (a retry).</summary>
    AlreadyApplied,
}

/// <summary>
/// The ordering rule: the event ordered later (<see cref="OrderingTime(DateTimeOffset, DateTimeOffset)"/>) wins; on a tie an unsubscribe beats a
/// resubscribe; an event older than the one that decided the current state is recorded but flips nothing.
/// </summary>
public static class ConsentRules
{
    /// <summary>
    /// When an event counts as having happened: <c>min(occurredAt, receivedAt)</c>. A sender's clock running ahead
    /// must not let its event outrank ones that really happened later, and nothing can have happened after we
    /// received it; a clock running behind only makes its own events lose, which is the safe side for opt-outs.
    /// </summary>
    public static DateTimeOffset OrderingTime(DateTimeOffset occurredAt, DateTimeOffset receivedAt) =>
        occurredAt <= receivedAt ? occurredAt : receivedAt;

    /// <inheritdoc cref="OrderingTime(DateTimeOffset, DateTimeOffset)"/>
    public static DateTimeOffset OrderingTime(ConsentEvent e) => OrderingTime(e.OccurredAt, e.ReceivedAt);

    /// <summary>Decides what an event ordered at <paramref name="orderedAt"/> (its <see cref="OrderingTime(DateTimeOffset, DateTimeOffset)"/>) does to <paramref name="current"/>.</summary>
    public static ConsentDecision Decide(ConsentStateEntity? current, string eventId, ConsentState incoming, DateTimeOffset orderedAt)
    {
        if (current is null)
        {
            return ConsentDecision.Applied;
        }

        if (current.StateEventId == eventId)
        {
            return ConsentDecision.AlreadyApplied;
        }

        var currentState = current.ConsentState;
        var newer = orderedAt > current.DecidedAt
            || (orderedAt == current.DecidedAt && incoming == ConsentState.Unsubscribed && currentState == ConsentState.Subscribed);
        if (!newer)
        {
            return ConsentDecision.Superseded;
        }

        return incoming == currentState ? ConsentDecision.Reaffirmed : ConsentDecision.Applied;
    }
}
