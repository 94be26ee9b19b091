namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// The <c>Salesforce</c> app settings (<c>Salesforce__*</c>): where to sign in, which OAuth flow to use,
/// and how hard to retry. Checked by <see cref="SalesforceOptionsValidator"/> when the app starts.
/// </summary>
public sealed class SalesforceOptions
{
    public const string SectionName = "Salesforce";

    /// <summary>The org's My Domain URL, e.g. <c>https://acme.my.salesforce.com</c>; the token endpoint lives under it.</summary>
    public string? LoginUrl { get; set; }

    /// <summary>The connected app's consumer key.</summary>
    public string? ClientId { get; set; }

    /// <summary>The consumer secret; setting it selects the client-credentials flow.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The user the JWT bearer flow acts as; set together with <see cref="PrivateKey"/>.</summary>
    public string? Username { get; set; }

    /// <summary>PEM RSA private key (PKCS#8 or PKCS#1) whose certificate is uploaded to the connected app.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>The JWT <c>aud</c> claim: login.salesforce.com for production, test.salesforce.com for a sandbox org.</summary>
    public string JwtAudience { get; set; } = "https://login.salesforce.com";

    /// <summary>REST API version without the leading <c>v</c>; 42.0 or later (sObject Collections).</summary>
    public string ApiVersion { get; set; } = "66.0";

    /// <summary>Records per query page (200-2000) sent as <c>Sforce-Query-Options: batchSize</c>; Salesforce's default (2000) when unset.</summary>
    public int? QueryBatchSize { get; set; }

    /// <summary>Salesforce does not say when a token expires, so it is replaced after this long even without a 401.</summary>
    public TimeSpan TokenRefreshInterval { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>How long a field discovery result is trusted before Contact and Lead are described again.</summary>
    public TimeSpan FieldCacheLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long a kept describe (table storage, shared by every process and run) is trusted without asking Salesforce.
    /// After it, the check asks with <c>If-Modified-Since</c> (a 304 costs a call but no body); a field error from
    /// Salesforce, or a check that fails, describes afresh at once.
    /// </summary>
    public TimeSpan FieldCheckLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Time allowed for one HTTP attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one call including all its retries.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Retries after the first attempt for transient failures.</summary>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>First retry delay; later ones grow exponentially with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Share of failed attempts within <see cref="CircuitBreakerSamplingDuration"/> that opens the circuit.</summary>
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Attempts needed within the sampling window before the circuit may open.</summary>
    public int CircuitBreakerMinimumThroughput { get; set; } = 20;

    /// <summary>Window over which the failure ratio is measured.</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an open circuit fails calls fast before probing Salesforce again.</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>True when <see cref="ClientSecret"/> is set (client-credentials flow) rather than the JWT bearer flow.</summary>
    public bool UsesClientCredentials => !string.IsNullOrWhiteSpace(ClientSecret);
}
