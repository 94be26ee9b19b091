using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Sync;

/// <summary>What the inbound pass does with one Salesforce record.</summary>
public enum InboundAction
{
    /// <summary>Nothing to do.</summary>
    None,

    /// <summary>Salesforce's opt-out is news: apply it to the ledger as an unsubscribe and link the record as confirmed.</summary>
    ImportOptOut,

    /// <summary>The record already holds what the ledger wants: mark its link confirmed (adding the link if missing).</summary>
    Confirm,

    /// <summary>The record holds the opt-out, but an explicit resubscribe is newer: the resubscribe stands.</summary>
    KeepResubscribe,

    /// <summary>Under the Resubscribe policy, a newer un-check in Salesforce resubscribes the address.</summary>
    ImportResubscribe,

    /// <summary>The address is unsubscribed but the record is not: write the opt-out (drift when it had been confirmed).</summary>
    WriteOptOut,
}

/// <summary>The inbound merge rule for one record: its Salesforce value against the ledger's state for its address.</summary>
public static class InboundRules
{
    /// <summary>Decides what to do with a Salesforce record.</summary>
    /// <param name="state">The address's ledger state, or null when the ledger does not know it.</param>
    /// <param name="link">The record's link, or null when it is not linked to the address.</param>
    /// <param name="salesforceOptedOut">The record's opt-out field.</param>
    /// <param name="systemModstamp">When the record last changed in Salesforce: the event time of its value.</param>
    /// <param name="options">The sync policies.</param>
    /// <param name="optOutHeldElsewhere">
    /// Whether another linked, live record of the address is known to still hold the opt-out (<see cref="OptOutHeldElsewhere"/>).
    /// </param>
    /// <param name="field">
    /// The API name of the field read. A link confirmed on another field (the field in force changed since) is not
    /// confirmed on this one: its record lacking the opt-out here means the opt-out is owed here, never an un-check.
    /// </param>
    /// <returns>The action, and whether it is drift (an opt-out we had confirmed on this field has been un-checked).</returns>
    public static (InboundAction Action, bool Drift) Decide(
        ConsentStateEntity? state, RecordLinkEntity? link, bool salesforceOptedOut, DateTimeOffset systemModstamp, SyncOptions options, bool optOutHeldElsewhere, string field)
    {
        var confirmedOptOutHere = link is { DesiredOptOut: true } && link.IsConfirmedOn(field);
        if (salesforceOptedOut)
        {
            if (state is null)
            {
                return (InboundAction.ImportOptOut, false);
            }

            if (state.ConsentState == ConsentState.Unsubscribed)
            {
                // A link confirmed on another field is confirmed on this one now (one ledger write, once per switch).
                return confirmedOptOutHere ? (InboundAction.None, false) : (InboundAction.Confirm, false);
            }

            // Same rule as every event: the later change wins, and a tie goes to the opt-out.
            return systemModstamp >= state.DecidedAt ? (InboundAction.ImportOptOut, false) : (InboundAction.KeepResubscribe, false);
        }

        if (state is null)
        {
            return (InboundAction.None, false);
        }

        if (state.ConsentState == ConsentState.Subscribed)
        {
            return link is not null && link.Status != LinkStatus.Synced && !link.DesiredOptOut ? (InboundAction.Confirm, false) : (InboundAction.None, false);
        }

        // Unsubscribed here, not in Salesforce. A record we never linked is fanned out to only when lookups by email are on.
        if (link is null && !options.ResolveByEmail)
        {
            return (InboundAction.None, false);
        }

        if (link is { Status: LinkStatus.Dead })
        {
            return (InboundAction.None, false);
        }

        // Only a record that held our confirmed opt-out on this very field can have been un-checked; any other record
        // (never confirmed, or confirmed on the field in force before, or before the field was recorded) simply lacks it.
        var drift = confirmedOptOutHere;
        // One rep's un-check of one duplicate must not clear an opt-out the person's other record still holds.
        if (drift && options.SalesforceUncheck == SalesforceUncheckPolicy.Resubscribe && systemModstamp > state.DecidedAt && !optOutHeldElsewhere)
        {
            return (InboundAction.ImportResubscribe, false);
        }

        return (InboundAction.WriteOptOut, drift);
    }

    /// <summary>
    /// Whether a linked record of the address other than <paramref name="salesforceId"/> is known to still hold the
    /// opt-out: its link is confirmed (Synced) with the opt-out, and it was not itself read un-checked in this read
    /// (<paramref name="uncheckedInThisRead"/>: the records of the address on the same page whose field is clear).
    /// A Dead record holds nothing; a record whose write is still owed is not known to hold it.
    /// </summary>
    public static bool OptOutHeldElsewhere(IEnumerable<RecordLinkEntity> links, string salesforceId, IReadOnlySet<string> uncheckedInThisRead) =>
        links.Any(l => l.SalesforceId != salesforceId
            && l is { Status: LinkStatus.Synced, DesiredOptOut: true }
            && !uncheckedInThisRead.Contains(l.SalesforceId));
}
