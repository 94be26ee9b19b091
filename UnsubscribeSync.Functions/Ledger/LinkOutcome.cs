namespace UnsubscribeSync.Functions.Ledger;

/// <summary>What happened when a linked record's value was written to or read from Salesforce.</summary>
public enum LinkOutcomeKind
{
    /// <summary>The write of <see cref="LinkOutcome.Value"/> landed.</summary>
    Synced,

    /// <summary>Salesforce was read holding <see cref="LinkOutcome.Value"/> (no write).</summary>
    Observed,

    /// <summary>Salesforce refused the record permanently (or retries ran out).</summary>
    Failed,

    /// <summary>The write failed in a way a later attempt may fix.</summary>
    Transient,

    /// <summary>The org's configuration stops every write (field missing or read-only, credentials rejected).</summary>
    Blocked,

    /// <summary>Put off: the API budget or the org's daily limit.</summary>
    Deferred,

    /// <summary>The record is gone and nothing took its place.</summary>
    Dead,

    /// <summary>The record was converted or merged; <see cref="LinkOutcome.TargetId"/> carries the address now.</summary>
    Redirected,

    /// <summary>Nothing is to be written (a resubscribe while resubscribes are not pushed).</summary>
    NotRequired,
}

/// <summary>
/// One Salesforce outcome for one link, as push or the nightly sync saw it. <see cref="Value"/> is the value it
/// concerns (the value written, or read); the recorder compares it with what the link wants when it applies it.
/// </summary>
/// <param name="Kind">What happened.</param>
/// <param name="Value">The opt-out value written or seen.</param>
/// <param name="Attempted">A write request for this record was sent to Salesforce.</param>
/// <param name="Code">Salesforce's error code, or ours (API_BUDGET, OPT_OUT_FIELD_UNUSABLE, ...).</param>
/// <param name="Message">What an admin should read: Salesforce's message or our explanation.</param>
/// <param name="TargetId">The record a converted or merged one now lives on.</param>
public sealed record LinkOutcome(LinkOutcomeKind Kind, bool Value, bool Attempted, string? Code = null, string? Message = null, string? TargetId = null)
{
    /// <summary>
    /// The API name of the field written or read. A confirmation holds for that field only, so the recorder stores it
    /// on the link; null when the outcome is about no particular field (a deferral before any call, a dead record).
    /// </summary>
    public string? Field { get; init; }

    public static LinkOutcome Written(bool value, string field) => new(LinkOutcomeKind.Synced, value, true) { Field = field };

    public static LinkOutcome Observed(bool value, string field) => new(LinkOutcomeKind.Observed, value, false) { Field = field };

    public static LinkOutcome Failed(bool value, string code, string? message, bool attempted = true) => new(LinkOutcomeKind.Failed, value, attempted, code, message);

    public static LinkOutcome Transient(bool value, string code, string? message) => new(LinkOutcomeKind.Transient, value, true, code, message);

    public static LinkOutcome Blocked(bool value, string code, string? problem, bool attempted) => new(LinkOutcomeKind.Blocked, value, attempted, code, problem);

    public static LinkOutcome Deferred(bool value, string code, string message, bool attempted) => new(LinkOutcomeKind.Deferred, value, attempted, code, message);

    public static LinkOutcome Dead(bool value, string code, string? reason) => new(LinkOutcomeKind.Dead, value, false, code, reason);

    public static LinkOutcome Redirected(bool value, string code, string targetId, string message) => new(LinkOutcomeKind.Redirected, value, false, code, message, targetId);

    public static LinkOutcome NotRequired(bool value, string reason) => new(LinkOutcomeKind.NotRequired, value, false, Message: reason);

    /// <summary>Whether the write reached Salesforce, so Salesforce now holds <see cref="Value"/>.</summary>
    public bool Landed => Kind == LinkOutcomeKind.Synced;

    /// <summary>The audit keeps every write attempt and every end of a record; decisions made without a call live on the link only.</summary>
    public bool IsEvidence => Attempted || Kind is LinkOutcomeKind.Dead or LinkOutcomeKind.Redirected;

    /// <summary>The audit's word for it.</summary>
    public string AuditOutcome => Kind switch
    {
        LinkOutcomeKind.Transient => "retrying",
        LinkOutcomeKind.NotRequired => "notrequired",
        _ => Kind.ToString().ToLowerInvariant(),
    };

    /// <summary>The audit's detail line.</summary>
    public string? AuditDetail => (Code, Message) switch
    {
        (null, var message) => message,
        (var code, null) => code,
        var (code, message) => $"{code}: {message}",
    };
}
