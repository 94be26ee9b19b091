using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace UnsubscribeSync.Tests.Consent;

/// <summary>
/// A sender's notification endpoint, in-process on a free loopback port: it keeps every request it gets (headers and
/// raw body) and answers with the status the test chose, so delivery goes over real HTTP through the app's typed client.
/// </summary>
internal sealed class NotificationReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private NotificationReceiver(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public ConcurrentQueue<ReceivedNotification> Received { get; } = new();

    /// <summary>The status every request is answered with (200 unless a test changes it).</summary>
    public int Status { get; set; } = StatusCodes.Status200OK;

    public static async Task<NotificationReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        NotificationReceiver? receiver = null;
        app.MapPost("/hooks/consent", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            receiver!.Received.Enqueue(new ReceivedNotification(
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body.ToArray()));
            return Results.StatusCode(receiver.Status);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new NotificationReceiver(app, new Uri(address.TrimEnd('/') + "/hooks/consent"));
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record ReceivedNotification(IReadOnlyDictionary<string, string> Headers, byte[] Body);
