namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Which Salesforce checkbox holds the opt-out.</summary>
public enum OptOutTargetField
{
    /// <summary>The standard Email Opt Out field, <c>HasOptedOutOfEmail</c>.</summary>
    EmailOptOut,

    /// <summary>The custom Marketo Sales Opt Out field, kept apart from marketing opt-outs.</summary>
    MarketoSalesOptOut,
}

/// <summary>Whether the org's Person Accounts (Accounts holding a person, Ids 001) are written and synced.</summary>
public enum PersonAccountMode
{
    /// <summary>Detected from the describe of Account: the org has them when it shows <c>PersonEmail</c> and <c>IsPersonAccount</c>.</summary>
    Auto,

    /// <summary>The org is expected to have them: their absence is reported as a field problem.</summary>
    On,

    /// <summary>Never described, queried or written; events naming a 001 Id are blocked.</summary>
    Off,
}

/// <summary>
/// Which field <see cref="IOptOutFieldResolver"/> looks for. The client's own options: the app fills them from
/// its sync settings (<c>Sync__TargetField</c>, <c>Sync__MarketoSalesOptOutField</c>) in the composition root.
/// </summary>
public sealed class OptOutFieldOptions
{
    public OptOutTargetField Target { get; set; } = OptOutTargetField.EmailOptOut;

    /// <summary>The custom field's API name when known; discovered by label when empty.</summary>
    public string? MarketoSalesOptOutField { get; set; }

    /// <summary>Whether Person Accounts are looked for (<c>Sync__PersonAccounts</c>).</summary>
    public PersonAccountMode PersonAccounts { get; set; } = PersonAccountMode.Auto;
}
