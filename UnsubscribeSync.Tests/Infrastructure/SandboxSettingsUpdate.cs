namespace UnsubscribeSync.Tests.Infrastructure;

/// <summary>Runtime settings to change in the sandbox; only the properties that are set change.</summary>
public sealed record SandboxSettingsUpdate
{
    public int? DailyApiLimit { get; init; }

    public int? ApiUsage { get; init; }

    public string? CustomOptOutField { get; init; }

    public bool? CustomFieldPresentOnContact { get; init; }

    public bool? CustomFieldPresentOnLead { get; init; }

    public bool? CustomFieldUpdateableOnContact { get; init; }

    public bool? CustomFieldUpdateableOnLead { get; init; }

    /// <summary>False: an org without Person Accounts (Account's describe lacks the person fields).</summary>
    public bool? PersonAccountsEnabled { get; init; }

    /// <summary>Default query page size, 200..2000 (the <c>Sforce-Query-Options</c> header still wins).</summary>
    public int? DefaultPageSize { get; init; }

    public int? SessionLifetimeSeconds { get; init; }

    public int? ClockOffsetSeconds { get; init; }
}
