using System.ComponentModel.DataAnnotations;

namespace UnsubscribeSync.SalesforceSandbox.Options;

/// <summary>
/// Start-up settings of the sandbox (configuration section <c>Sandbox</c>). <c>POST /sandbox/reset</c>
/// returns the runtime state to these values.
/// </summary>
public sealed class SandboxSettings
{
    public const string SectionName = "Sandbox";

    [Required]
    public string ClientId { get; set; } = "sandbox-client-id";

    [Required]
    public string ClientSecret { get; set; } = "sandbox-client-secret";

    [Required]
    public string JwtUsername { get; set; } = "integration@sandbox.example";

    /// <summary>PEM text (public key or X.509 certificate) or a path to a PEM file. Without it the JWT bearer flow is refused.</summary>
    public string? JwtPublicKey { get; set; }

    /// <summary>Accepted JWT <c>aud</c> values besides the sandbox's own base URL.</summary>
    public List<string> JwtAudiences { get; set; } = ["https://login.salesforce.com", "https://test.salesforce.com"];

    /// <summary>The only refresh token the minimal refresh_token grant accepts.</summary>
    public string RefreshToken { get; set; } = "sandbox-refresh-token";

    [Range(1, int.MaxValue)]
    public int DailyApiLimit { get; set; } = 100_000;

    [Range(0, int.MaxValue)]
    public int ApiUsage { get; set; }

    [Required]
    [RegularExpression("^[A-Za-z][A-Za-z0-9_]*__c$")]
    public string CustomOptOutField { get; set; } = "MSC__Marketo_Sales_Opt_Out__c";

    public bool CustomFieldPresentOnContact { get; set; } = true;

    public bool CustomFieldPresentOnLead { get; set; } = true;

    public bool CustomFieldUpdateableOnContact { get; set; } = true;

    public bool CustomFieldUpdateableOnLead { get; set; } = true;

    /// <summary>
    /// Whether the org has Person Accounts. Off, the describe of Account shows no PersonEmail, IsPersonAccount or
    /// person fields, and queries or writes naming them fail with INVALID_FIELD, as in an org that never enabled them.
    /// </summary>
    public bool PersonAccountsEnabled { get; set; } = true;

    [Range(200, 2000)]
    public int DefaultPageSize { get; set; } = 2000;

    /// <summary>Session lifetime of issued access tokens (Salesforce's common default is 2 hours).</summary>
    [Range(1, int.MaxValue)]
    public int SessionLifetimeSeconds { get; set; } = 7200;

    /// <summary>Shifts the sandbox clock, e.g. to make records look older than a sync watermark.</summary>
    public int ClockOffsetSeconds { get; set; }

    [RegularExpression(@"^\d{2,3}\.0$")]
    public string LatestApiVersion { get; set; } = "66.0";

    public SandboxSettings Clone()
    {
        var copy = (SandboxSettings)MemberwiseClone();
        copy.JwtAudiences = [.. JwtAudiences];
        return copy;
    }
}
