using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

/// <summary>
/// Builds the real Salesforce registration (<c>AddSalesforce</c>) over a stub primary handler, so unit
/// tests exercise sign-in, the resilience pipeline and usage tracking exactly as wired in the app.
/// </summary>
internal static class SalesforceTestHost
{
    public const string InstanceUrl = "https://acme.my.salesforce.com";

    public const string TokenBody = """{"access_token":"00Dx!token-1","instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P","token_type":"Bearer","issued_at":"1278448832702"}""";

    /// <summary>Settings for the client-credentials flow with retries fast enough for tests.</summary>
    public static Dictionary<string, string?> FastSettings(string loginUrl = "https://acme.my.salesforce.com") => new()
    {
        ["Salesforce:LoginUrl"] = loginUrl,
        ["Salesforce:ClientId"] = "client-id",
        ["Salesforce:ClientSecret"] = "client-secret",
        ["Salesforce:MaxRetryAttempts"] = "3",
        ["Salesforce:RetryBaseDelay"] = "00:00:00.001",
        ["Salesforce:AttemptTimeout"] = "00:00:10",
        ["Salesforce:TotalTimeout"] = "00:00:30",
    };

    public static ServiceProvider Build(HttpMessageHandler primary, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? configure = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? FastSettings()).Build();
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        configure?.Invoke(services);
        services.AddSalesforce(configuration);
        services.ConfigureHttpClientDefaults(b => b.ConfigurePrimaryHttpMessageHandler(() => primary));
        return services.BuildServiceProvider();
    }

    /// <summary>A handler that signs in with <see cref="TokenBody"/> and answers API calls from <paramref name="api"/>.</summary>
    public static StubHttpMessageHandler Salesforce(Func<HttpRequestMessage, string, HttpResponseMessage> api)
    {
        return new StubHttpMessageHandler((request, body) =>
            request.RequestUri!.AbsolutePath == "/services/oauth2/token"
                ? StubHttpMessageHandler.Json(HttpStatusCode.OK, TokenBody)
                : api(request, body));
    }
}
