using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Functions;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// One webhook request as a careless or hostile sender may send it: raw body bytes and raw headers. Unless
/// <see cref="Sign"/> says otherwise it carries a valid signature over its exact bytes, so a body is judged on its own.
/// </summary>
public sealed record HostileRequest(byte[] Body)
{
    private static readonly IReadOnlyDictionary<string, StringValues> NoHeaders = new Dictionary<string, StringValues>();

    public string? ContentType { get; init; } = "application/json";

    /// <summary>The <c>X-UnsubscribeSync-Signature</c> value for the body, or null to send none.</summary>
    public Func<byte[], string?> Sign { get; init; } = FuzzDeployment.ValidSignature;

    /// <summary>More headers, each perhaps repeated.</summary>
    public IReadOnlyDictionary<string, StringValues> Headers { get; init; } = NoHeaders;

    /// <summary>The declared <c>Content-Length</c>: the body's length unless given; null sends none (chunked).</summary>
    public Func<byte[], long?> ContentLength { get; init; } = body => body.Length;

    /// <summary>Whether the upload stops half-way: the body stream fails as Kestrel's does when a client stops sending.</summary>
    public bool Truncated { get; init; }

    /// <summary>The request as the Functions ASP.NET Core integration hands it to the function.</summary>
    public HttpRequest ToHttpRequest()
    {
        var request = HttpTestExtensions.JsonRequest(string.Empty, sendContentLength: false);
        request.ContentType = ContentType;
        request.Body = Truncated ? new TruncatedStream(Body) : new MemoryStream(Body);
        request.ContentLength = ContentLength(Body);
        if (Sign(Body) is { } signature)
        {
            request.Headers[WebhookSignatureVerifier.HeaderName] = signature;
        }

        foreach (var (name, value) in Headers)
        {
            request.Headers[name] = value;
        }

        return request;
    }

    /// <summary>A short, printable description for a failure message.</summary>
    public string Describe()
    {
        var preview = Body.Length > 300 ? Encoding.UTF8.GetString(Body.AsSpan(0, 300)) + $"... ({Body.Length} bytes)" : Encoding.UTF8.GetString(Body);
        return $"Content-Type: {ContentType ?? "(none)"}; Content-Length: {ContentLength(Body)?.ToString() ?? "(none)"}; "
            + $"{WebhookSignatureVerifier.HeaderName}: {Sign(Body) ?? "(none)"}{(Truncated ? "; truncated" : string.Empty)}; body: {preview}";
    }

    /// <summary>Hands out the first half of the body, then fails the way Kestrel does for a client that stopped sending.</summary>
    private sealed class TruncatedStream(byte[] body) : MemoryStream(body, 0, body.Length / 2)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await base.ReadAsync(buffer, cancellationToken);
            return read > 0 ? read : throw new BadHttpRequestException("Unexpected end of request content.", StatusCodes.Status400BadRequest);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}

/// <summary>
/// The app as the fuzz tests deploy it: the real composition root over test storage, a clock standing still at
/// <see cref="Now"/>, and signatures required with a current and a previous secret (or not at all).
/// </summary>
public static class FuzzDeployment
{
    public const string Secret = "fuzz-current-secret";
    public const string PreviousSecret = "fuzz-previous-secret";
    public static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    public static long NowSeconds => Now.ToUnixTimeSeconds();

    public static string? ValidSignature(byte[] body) => WebhookSignatureVerifier.CreateHeader(Secret, NowSeconds, body);

    public static ServiceProvider Build(TestStorage storage, bool signed)
    {
        var overrides = signed
            ? new Dictionary<string, string?> { ["Webhook:SigningSecret"] = Secret, ["Webhook:PreviousSigningSecret"] = PreviousSecret }
            : null;
        return AppServices.Build(storage, sandbox: null, overrides, s => s.AddSingleton<TimeProvider>(new FakeTimeProvider(Now)));
    }

    /// <summary>Sends one request through the real function class. An exception escaping it is what the host answers 500.</summary>
    public static async Task<HttpOutcome> PostAsync(IServiceProvider services, HostileRequest request, CancellationToken cancellationToken)
    {
        var function = new ReceiveUnsubscribes(services.GetRequiredService<WebhookHandler>());
        try
        {
            return await (await function.Run(request.ToHttpRequest(), cancellationToken)).ExecuteAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HttpOutcome(StatusCodes.Status500InternalServerError, new HeaderDictionary(), "text/plain", $"unhandled {ex}");
        }
    }
}
