namespace UnsubscribeSync.SalesforceSandbox.Runtime;

/// <summary>The kinds of Salesforce call the sandbox counts and can fault.</summary>
public enum ApiKind
{
    Token,
    Sobject,
    Composite,
    Query,
    Describe,
    Limits,
    Versions,
    Other,
}
