namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>
/// A fault the sandbox injects: <paramref name="Match"/> is token, sobject, composite, query, describe,
/// limits or any; <paramref name="Count"/> null fires forever; <paramref name="RecordId"/> fails only
/// that record (a per-record error inside a composite result, or the whole single PATCH).
/// </summary>
public sealed record SandboxFault(string Match, int Status, string ErrorCode, string? Message = null, int? Count = null, string? RecordId = null);
