using UnsubscribeSync.SalesforceSandbox.Auth;
using UnsubscribeSync.SalesforceSandbox.Endpoints;
using UnsubscribeSync.SalesforceSandbox.Http;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Options;
using UnsubscribeSync.SalesforceSandbox.Query;
using UnsubscribeSync.SalesforceSandbox.Runtime;

namespace UnsubscribeSync.SalesforceSandbox;

/// <summary>Builds the Salesforce sandbox app, standalone (Program.cs) or in-process for tests.</summary>
public static class SandboxApp
{
    /// <summary>Salesforce answers 414 when the request URI is longer than this many bytes.</summary>
    public const int MaxUriBytes = 16_384;

    public static WebApplication Build(string[] args, Action<SandboxSettings>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(SandboxApp).Assembly.GetName().Name,
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Kestrel's own limits are tighter than Salesforce's; raise them so the sandbox decides (414 past 16 KB).
            kestrel.Limits.MaxRequestLineSize = 4 * MaxUriBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = 8 * MaxUriBytes;
            kestrel.Limits.MaxRequestBodySize = 512L * 1024 * 1024;
        });

        builder.Services.AddOptions<SandboxSettings>()
            .BindConfiguration(SandboxSettings.SectionName)
            .Configure(settings => configure?.Invoke(settings))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SandboxClock>();
        builder.Services.AddSingleton<SandboxState>();
        builder.Services.AddSingleton<RecordStore>();
        builder.Services.AddSingleton<RecordUpdater>();
        builder.Services.AddSingleton<TokenStore>();
        builder.Services.AddSingleton<JwtAssertionValidator>();
        builder.Services.AddSingleton<FaultInjector>();
        builder.Services.AddSingleton<ApiStats>();
        builder.Services.AddSingleton<QueryCursorStore>();
        builder.Services.AddSingleton<QueryExecutor>();
        builder.Services.AddSingleton<ApiCallFilter>();

        var app = builder.Build();
        app.Use(RejectLongUris);
        app.MapTokenEndpoints();
        app.MapDataEndpoints();
        app.MapControlEndpoints();
        app.Lifetime.ApplicationStarted.Register(() =>
            SandboxLog.Listening(app.Logger, string.Join(", ", app.Urls)));
        return app;
    }

    private static Task RejectLongUris(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var length = System.Text.Encoding.UTF8.GetByteCount(request.PathBase + request.Path.ToUriComponent() + request.QueryString.ToUriComponent());
        if (length > MaxUriBytes && request.Path.StartsWithSegments("/services", StringComparison.OrdinalIgnoreCase))
        {
            return SalesforceJson.Error(new SalesforceError(414, "URI_TOO_LONG", "The request URI is longer than 16384 bytes")).ExecuteAsync(context);
        }

        return next(context);
    }
}
