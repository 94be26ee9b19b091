using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Tests.Infrastructure;

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

    /// <summary>Settings for the sandbox: client credentials, or the JWT bearer flow when <paramref name="jwt"/> is set.</summary>
    public static Dictionary<string, string?> SandboxSettings(SalesforceSandboxFixture sandbox, bool jwt = false)
    {
        var settings = FastSettings(sandbox.BaseAddress.ToString());
        settings["Salesforce:ClientId"] = sandbox.ClientId;
        settings["Salesforce:RetryBaseDelay"] = "00:00:00.005";
        if (jwt)
        {
            settings["Salesforce:ClientSecret"] = null;
            settings["Salesforce:Username"] = sandbox.JwtUsername;
            settings["Salesforce:PrivateKey"] = sandbox.JwtPrivateKeyPem;
        }
        else
        {
            settings["Salesforce:ClientSecret"] = sandbox.ClientSecret;
        }

        return settings;
    }

    /// <summary>The real registration; with a <paramref name="primary"/> handler every request goes to it instead of the network.</summary>
    public static ServiceProvider Build(HttpMessageHandler? primary, IDictionary<string, string?>? settings = null, Action<ILoggingBuilder>? logging = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings ?? FastSettings()).Build();
        var services = new ServiceCollection();
        if (logging is null)
        {
            services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
            services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        }
        else
        {
            services.AddLogging(logging);
        }

        // The host fills the field resolver's options from its Sync settings; these tests do the same.
        var sync = configuration.GetSection(SyncOptions.SectionName).Get<SyncOptions>() ?? new SyncOptions();
        services.AddSalesforce(configuration);
        services.Configure<OptOutFieldOptions>(o =>
        {
            o.Target = sync.TargetField;
            o.MarketoSalesOptOutField = sync.MarketoSalesOptOutField;
        });
        if (primary is not null)
        {
            services.ConfigureHttpClientDefaults(b => b.ConfigurePrimaryHttpMessageHandler(() => primary));
        }

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
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
