using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>Registers the Salesforce client, its sign-in, resilience and the opt-out field check.</summary>
public static class SalesforceServiceCollectionExtensions
{
    /// <summary>The name of the client's single resilience pipeline.</summary>
    public const string ResiliencePipelineName = "salesforce";

    /// <summary>
    /// Adds <see cref="ISalesforceClient"/>, <see cref="ISalesforceApiUsage"/> and
    /// <see cref="IOptOutFieldResolver"/>, with <see cref="SalesforceOptions"/> bound from the
    /// <c>Salesforce</c> section and validated when the host starts. <see cref="OptOutFieldOptions"/>
    /// (read by the field resolver) are filled by the host's composition root.
    /// </summary>
    public static IServiceCollection AddSalesforce(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<SalesforceOptions>()
            .Bind(configuration.GetSection(SalesforceOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SalesforceOptions>, SalesforceOptionsValidator>());

        services.AddOptions<OptOutFieldOptions>();
        services.TryAddSingleton<ISalesforceApiUsage, SalesforceApiUsage>();
        services.TryAddSingleton<ISalesforceTokenProvider, SalesforceTokenProvider>();
        services.TryAddSingleton<IFieldCheckStore, NoFieldCheckStore>();
        services.TryAddSingleton<IOptOutFieldResolver, OptOutFieldResolver>();
        services.TryAddTransient<SalesforceAuthenticationHandler>();
        services.TryAddTransient<SalesforceLimitInfoHandler>();

        // Token fetches run inside an API call's attempt, whose timeout governs; this is only a backstop.
        services.AddHttpClient(SalesforceTokenProvider.HttpClientName, (sp, http) =>
        {
            http.Timeout = sp.GetRequiredService<IOptions<SalesforceOptions>>().Value.TotalTimeout;
        }).AddHttpMessageHandler<SalesforceLimitInfoHandler>();

        // Handler order, outermost first: resilience wraps sign-in, so a token endpoint outage is retried
        // like any other fault and each retry is signed with the current token; the usage handler sits
        // innermost to see every attempt's response.
        var client = services.AddHttpClient<ISalesforceClient, SalesforceClient>((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptions<SalesforceOptions>>().Value;
                http.BaseAddress = new Uri(new Uri(options.LoginUrl!, UriKind.Absolute).GetLeftPart(UriPartial.Authority) + "/");

                // The resilience pipeline's total timeout governs; HttpClient's 100 s default would cut it short.
                http.Timeout = Timeout.InfiniteTimeSpan;
            });
        client.AddResilienceHandler(ResiliencePipelineName, (builder, context) =>
            ConfigureResilience(
                builder,
                context.ServiceProvider.GetRequiredService<IOptions<SalesforceOptions>>().Value,
                context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SalesforceClient).FullName + ".Resilience")));
        client.AddHttpMessageHandler<SalesforceAuthenticationHandler>();
        client.AddHttpMessageHandler<SalesforceLimitInfoHandler>();

        return services;
    }

    /// <summary>Total timeout, then jittered exponential retries, a circuit breaker, and a per-attempt timeout.</summary>
    internal static void ConfigureResilience(ResiliencePipelineBuilder<HttpResponseMessage> builder, SalesforceOptions options, ILogger logger)
    {
        builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = options.TotalTimeout, Name = "total" });

        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryBaseDelay > TimeSpan.FromSeconds(30) ? options.RetryBaseDelay : TimeSpan.FromSeconds(30),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,

                // Salesforce sends no Retry-After; a proxy's value must not hold a queue worker for minutes.
                ShouldRetryAfterHeader = false,
                ShouldHandle = args => IsTransientAsync(args.Outcome, args.Context.CancellationToken),
                OnRetry = args =>
                {
                    var request = args.Context.GetRequestMessage();
                    SalesforceLog.Retrying(logger, request?.Method.Method ?? "?", SalesforceLog.SafeUrl(request?.RequestUri),
                        args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay.TotalMilliseconds);
                    return default;
                },
            });
        }

        builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
        {
            FailureRatio = options.CircuitBreakerFailureRatio,
            MinimumThroughput = options.CircuitBreakerMinimumThroughput,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            BreakDuration = options.CircuitBreakerBreakDuration,
            ShouldHandle = args => IsTransientAsync(args.Outcome, args.Context.CancellationToken),
            OnOpened = args =>
            {
                SalesforceLog.CircuitOpened(logger, args.BreakDuration.TotalSeconds, Describe(args.Outcome));
                return default;
            },
            OnClosed = _ =>
            {
                SalesforceLog.CircuitClosed(logger);
                return default;
            },
        });

        builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = options.AttemptTimeout, Name = "attempt" });
    }

    /// <summary>Whether an attempt's outcome is worth retrying and counts against the circuit.</summary>
    internal static async ValueTask<bool> IsTransientAsync(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken)
    {
        return outcome switch
        {
            { Exception: HttpRequestException or TimeoutRejectedException } => true,

            // Raised by the sign-in handler when the token endpoint itself is overloaded.
            { Exception: SalesforceApiException { IsTransient: true } } => true,
            { Result: { } response } => await SalesforceErrors.IsTransientAsync(response, cancellationToken).ConfigureAwait(false),
            _ => false,
        };
    }

    private static string Describe(Outcome<HttpResponseMessage> outcome)
    {
        return outcome.Exception is { } ex
            ? ex.GetType().Name
            : $"HTTP {(int)(outcome.Result?.StatusCode ?? HttpStatusCode.InternalServerError)}";
    }
}
