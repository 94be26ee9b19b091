using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using UnsubscribeSync.Functions.Configuration;

namespace UnsubscribeSync.Functions.Consent;

/// <summary>Registers the way back to the sender: the consent API, the feed worker and the notifications.</summary>
public static class ConsentServiceCollectionExtensions
{
    public const string ResiliencePipelineName = "notify";

    /// <summary>
    /// Adds the consent API, the change feed's worker and the notification sender, with <see cref="ConsentOptions"/> and
    /// <see cref="NotifyOptions"/> bound and validated on start. Expects the storage and ledger registrations of the
    /// composition root.
    /// </summary>
    public static IServiceCollection AddConsent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ConsentOptions>()
            .Bind(configuration.GetSection(ConsentOptions.SectionName))
            .Validate(o => !IsKeyVaultReference(o.ApiKey),
                "Consent:ApiKey is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' and check the secret exists.")
            .Validate(o => !IsKeyVaultReference(o.PreviousApiKey),
                "Consent:PreviousApiKey is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' and check the secret exists.")
            .Validate(o => string.IsNullOrEmpty(o.ApiKey) || o.ApiKey.Length >= ConsentOptions.MinKeyLength,
                $"Consent:ApiKey must be at least {ConsentOptions.MinKeyLength} characters (for example: openssl rand -base64 32).")
            .Validate(o => string.IsNullOrEmpty(o.PreviousApiKey) || o.PreviousApiKey.Length >= ConsentOptions.MinKeyLength,
                $"Consent:PreviousApiKey must be at least {ConsentOptions.MinKeyLength} characters.")
            .Validate(o => string.IsNullOrEmpty(o.PreviousApiKey) || !string.IsNullOrEmpty(o.ApiKey),
                "Consent:PreviousApiKey is set but Consent:ApiKey is not: set the current key too, or remove both to switch the consent API off.")
            .Validate<IOptions<WebhookOptions>>((o, webhook) => string.IsNullOrEmpty(o.ApiKey)
                    || (o.ApiKey != webhook.Value.SigningSecret && o.ApiKey != webhook.Value.PreviousSigningSecret),
                "Consent:ApiKey must not be the webhook's signing secret: the consent API needs a key of its own.")
            .ValidateOnStart();
        services.AddOptions<NotifyOptions>()
            .Bind(configuration.GetSection(NotifyOptions.SectionName))
            .Validate(o => !o.IsEnabled || IsUsableUrl(o.Url!),
                "Notify:Url must be an absolute https URL (plain http only for a loopback host).")
            .Validate(o => !o.IsEnabled || !string.IsNullOrEmpty(o.SigningSecret),
                "Notify:SigningSecret is required when Notify:Url is set: every notification is signed.")
            .Validate(o => !IsKeyVaultReference(o.SigningSecret),
                "Notify:SigningSecret is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' and check the secret exists.")
            .Validate(o => o.AttemptTimeout >= TimeSpan.FromSeconds(1) && o.AttemptTimeout <= TimeSpan.FromMinutes(1),
                "Notify:AttemptTimeout must be between 1 second and 1 minute.")
            .Validate(o => o.MaxRetryAttempts is >= 0 and <= 5, "Notify:MaxRetryAttempts must be between 0 and 5.")
            .Validate(o => o.RetryBaseDelay >= TimeSpan.Zero && o.RetryBaseDelay <= TimeSpan.FromSeconds(30),
                "Notify:RetryBaseDelay must be between 0 and 30 seconds.")
            .ValidateOnStart();

        services.TryAddSingleton<ConsentAccess>();
        services.TryAddSingleton<ConsentLookupHandler>();
        services.TryAddSingleton<ConsentChangesHandler>();
        services.TryAddSingleton<NotificationRules>();
        services.TryAddSingleton<INotificationQueue, NotificationQueue>();
        services.TryAddSingleton<ConsentFeedWorker>();
        services.TryAddSingleton<NotificationSender>();

        // The resilience pipeline's timeouts govern, not HttpClient's 100 s. The sender's singleton keeps its client, so
        // connections are recycled by lifetime to follow DNS changes of the receiver.
        services.AddHttpClient<NotificationClient>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .AddResilienceHandler(ResiliencePipelineName, (builder, context) =>
                ConfigureResilience(builder, context.ServiceProvider.GetRequiredService<IOptions<NotifyOptions>>().Value));
        return services;
    }

    /// <summary>Total timeout, then jittered exponential retries of transient failures, then a per-attempt timeout.</summary>
    internal static void ConfigureResilience(ResiliencePipelineBuilder<HttpResponseMessage> builder, NotifyOptions options)
    {
        builder.AddTimeout(new HttpTimeoutStrategyOptions
        {
            Name = "total",
            // Every attempt, plus the exponential delays between them with room for jitter.
            Timeout = (options.AttemptTimeout * (options.MaxRetryAttempts + 1)) + (options.RetryBaseDelay * (1.5 * Math.Pow(2, options.MaxRetryAttempts))),
        });
        if (options.MaxRetryAttempts > 0)
        {
            // The default handling: network errors, timeouts, 408, 429 and 5xx; a 4xx answer is the receiver's verdict.
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldRetryAfterHeader = false,
            });
        }

        builder.AddTimeout(new HttpTimeoutStrategyOptions { Name = "attempt", Timeout = options.AttemptTimeout });
    }

    private static bool IsKeyVaultReference(string? value) =>
        value is not null && value.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase);

    private static bool IsUsableUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))
        && string.IsNullOrEmpty(uri.UserInfo);
}
