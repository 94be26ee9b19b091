using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox.Endpoints;

/// <summary>Endpoint metadata naming the kind of Salesforce call, for stats, faults and limits.</summary>
public sealed record ApiKindMetadata(ApiKind Kind);
