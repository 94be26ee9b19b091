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
/// The ordering rule: the later <c>occurredAt</c> wins; on a tie an unsubscribe beats a resubscribe;
/// an event older than the one that decided the current state is recorded but flips nothing.
/// </summary>
public static class ConsentRules
{
    public static ConsentDecision Decide(ConsentStateEntity? current, string eventId, ConsentState incoming, DateTimeOffset occurredAt)
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
        var newer = occurredAt > current.DecidedAt
            || (occurredAt == current.DecidedAt && incoming == ConsentState.Unsubscribed && currentState == ConsentState.Subscribed);
        if (!newer)
        {
            return ConsentDecision.Superseded;
        }

        return incoming == currentState ? ConsentDecision.Reaffirmed : ConsentDecision.Applied;
    }
}
