using System.ComponentModel.DataAnnotations;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Functions.Configuration;

/// <summary>What the nightly sync does when Salesforce un-checks an opt-out we hold.</summary>
public enum SalesforceUncheckPolicy
{
    /// <summary>Write the opt-out again and report the drift (opt-out is sticky).</summary>
    Reassert,

    /// <summary>Honour an un-check that is newer than our unsubscribe.</summary>
    Resubscribe,
}

/// <summary>The <c>Sync</c> app settings (<c>Sync__*</c>).</summary>
public sealed class SyncOptions
{
    public const string SectionName = "Sync";

    /// <summary>Runs the nightly two-way sync; push stays on either way.</summary>
    public bool NightlyEnabled { get; set; } = true;

    /// <summary>The field opt-outs are written to while the nightly sync runs; see <see cref="EffectiveTargetField"/>.</summary>
    public OptOutTargetField TargetField { get; set; } = OptOutTargetField.EmailOptOut;

    /// <summary>
    /// The field opt-outs are actually written to: <see cref="TargetField"/> while the nightly sync is on, Email Opt Out
    /// while it is off.
    /// </summary>
    /// <remarks>
    /// The seed's rule: the field choice is one of the sync's settings, and with the sync switched off unsubscribes are
    /// still pushed, to Email Opt Out. Read-only, so configuration binding leaves it alone.
    /// </remarks>
    public OptOutTargetField EffectiveTargetField => NightlyEnabled ? TargetField : OptOutTargetField.EmailOptOut;

    /// <summary>The custom field's API name; discovered from Salesforce's describe when empty.</summary>
    [RegularExpression(@"^[A-Za-z][A-Za-z0-9_]*__c$", ErrorMessage = "Sync:MarketoSalesOptOutField must be a custom field API name ending in __c.")]
    public string? MarketoSalesOptOutField { get; set; }

    /// <summary>What a Salesforce un-check does.</summary>
    public SalesforceUncheckPolicy SalesforceUncheck { get; set; } = SalesforceUncheckPolicy.Reassert;

    /// <summary>
    /// Whether Person Accounts (001 Ids, <c>PersonEmail</c>) are written and synced: <c>Auto</c> detects them from the
    /// describe of Account, <c>On</c> reports their absence as a problem, <c>Off</c> leaves Account alone.
    /// </summary>
    public PersonAccountMode PersonAccounts { get; set; } = PersonAccountMode.Auto;

    /// <summary>Whether explicit resubscribe events clear the Salesforce field.</summary>
    public bool PushResubscribes { get; set; }

    /// <summary>Finds Leads and Contacts by email for events without a Salesforce Id.</summary>
    public bool ResolveByEmail { get; set; }

    /// <summary>Above this share of the daily API allocation, non-urgent work is deferred.</summary>
    [Range(1, 100, ErrorMessage = "Sync:ApiBudgetPercent must be between 1 and 100.")]
    public int ApiBudgetPercent { get; set; } = 75;

    /// <summary>
    /// How long an opt-out may be owed (since it was requested) before only the daily limit stops it: the nightly
    /// sync writes it even when usage is above <see cref="ApiBudgetPercent"/>, so an org that stays busy still gets it.
    /// </summary>
    [Range(typeof(TimeSpan), "01:00:00", "30.00:00:00", ErrorMessage = "Sync:MaxDeferral must be between 1 hour and 30 days.")]
    public TimeSpan MaxDeferral { get; set; } = TimeSpan.FromHours(24);
}
