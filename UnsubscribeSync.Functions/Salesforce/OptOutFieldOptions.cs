namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Which Salesforce checkbox holds the opt-out.</summary>
public enum OptOutTargetField
{
    /// <summary>The standard Email Opt Out field, <c>HasOptedOutOfEmail</c>.</summary>
    EmailOptOut,

    /// <summary>The custom Marketo Sales Opt Out field, kept apart from marketing opt-outs.</summary>
    MarketoSalesOptOut,
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
}
