namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>Salesforce requests the sandbox received since the last reset, by kind (continuation pages count as Query).</summary>
public sealed record SandboxStats(int Token, int Sobject, int Composite, int Query, int Describe, int Limits, int Versions, int Other, int Total);
