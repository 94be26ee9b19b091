using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// Randomized requests through the real function class and Azurite, with CsCheck: generated and mutated bodies
/// (<see cref="WebhookGenerators"/>) with random Content-Type, Content-Length, signatures and deployments (signed or
/// not), one after another on the same storage, so events and addresses repeat across requests. Every answer keeps the
/// webhook's promises (<see cref="WebhookPromises"/>): no 5xx, and no partial write. A failure prints CsCheck's seed;
/// set <c>CsCheck_Seed</c> to run that sequence again.
/// </summary>
public sealed class WebhookFuzzIntegrationTests : IAsyncLifetime
{
    // Each request costs two snapshots and its own writes on Azurite: this many keep the test to about ten seconds.
    private const int Iterations = 120;

    private readonly TestStorage _storage = new();
    private ServiceProvider _signed = null!;
    private ServiceProvider _unsigned = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>How a generated request is signed.</summary>
    public enum Signing
    {
        Valid,
        PreviousSecret,
        UpperCaseHex,
        Twice,
        None,
        WrongSecret,
        Stale,
        Garbage,
    }

    /// <summary>One generated request, and whether the deployment it reaches requires signatures.</summary>
    public sealed record FuzzRequest(HostileRequest Request, bool Signed)
    {
        public override string ToString() => $"{(Signed ? "signed" : "unsigned")} deployment; {Request.Describe()}";
    }

    // Headers are mostly right, so most requests reach the parser and storage; each wrong one is refused before it.
    private static readonly Gen<string?> GenContentType = Gen.Frequency<string?>(
        (30, "application/json"), (2, "application/json; charset=UTF-8"), (2, "application/vnd.marketo+json"), (1, null), (1, "text/plain"),
        (1, "application/json; charset=utf-16"), (1, "multipart/form-data; boundary=b"));

    private static readonly Gen<Signing> GenSigning = Gen.Frequency(
        (30, Signing.Valid), (2, Signing.PreviousSecret), (2, Signing.UpperCaseHex), (2, Signing.Twice), (1, Signing.None), (1, Signing.WrongSecret), (1, Signing.Stale), (1, Signing.Garbage));

    // The declared length: the body's own (mostly), none (chunked), zero, or far more than the limit.
    private static readonly Gen<Func<byte[], long?>> GenLength = Gen.Frequency<Func<byte[], long?>>(
        (20, b => b.Length), (3, _ => null), (1, _ => 0), (1, _ => 10_000_000_000));

    // Well-formed bodies (events and batches as written) as often as mutated or random ones, so storage sees many events.
    private static readonly Gen<byte[]> GenBody = Gen.Frequency(
        (1, WebhookGenerators.Body.Select(WebhookGenerators.Write)),
        (1, WebhookGenerators.BodyBytes));

    private static readonly Gen<FuzzRequest> GenRequest = Gen.Select(
        GenBody, GenContentType, GenSigning, GenLength, Gen.Int[0, 39],
        (body, contentType, signing, length, roll) => new FuzzRequest(
            new HostileRequest(body)
            {
                ContentType = contentType,
                Sign = Sign(signing),
                Headers = signing == Signing.Twice
                    ? new Dictionary<string, StringValues> { [WebhookSignatureVerifier.HeaderName] = new([FuzzDeployment.ValidSignature(body), FuzzDeployment.ValidSignature(body)]) }
                    : new Dictionary<string, StringValues>(),
                ContentLength = length,
                Truncated = roll == 0,
            },
            Signed: roll % 4 != 1));

    public async ValueTask InitializeAsync()
    {
        // The host's start-up step creates the tables and queues before the first request.
        await _storage.Bootstrap.EnsureCreatedAsync(Ct);
        _signed = FuzzDeployment.Build(_storage, signed: true);
        _unsigned = FuzzDeployment.Build(_storage, signed: false);
    }

    public async ValueTask DisposeAsync()
    {
        await _signed.DisposeAsync();
        await _unsigned.DisposeAsync();
        await _storage.DisposeAsync();
    }

    [Fact]
    public async Task Run_RandomRequestsInSequence_NeverAnswer5xxNorLeaveAPartialWrite()
    {
        // Arrange
        var probe = new StorageProbe(_storage);
        var recorded = 0;
        var refused = 0;

        // Act, Assert: one request at a time, so each snapshot pair shows exactly what that request wrote.
        await GenRequest.SampleAsync(
            async fuzz =>
            {
                var before = await probe.SnapshotAsync(Ct);
                var outcome = await FuzzDeployment.PostAsync(fuzz.Signed ? _signed : _unsigned, fuzz.Request, Ct);
                var after = await probe.SnapshotAsync(Ct);
                var answer = WebhookPromises.AssertKept(outcome, before, after, fuzz.ToString());
                recorded += answer.Status == 202 ? 1 : 0;
                refused += answer.Status >= 400 ? 1 : 0;
            },
            iter: Iterations,
            threads: 1,
            print: fuzz => fuzz.ToString());

        // The generator reaches both sides of the contract. About one request in five is answered 202 (and most of the rest
        // refused), so a bound near the mean failed by chance (24 of 120 once); at 3 of 120 the chance is below one in 10^9.
        Assert.True(recorded >= Iterations / 40 && refused >= Iterations / 40, $"{recorded} requests were answered 202, {refused} were refused");
    }

    private static Func<byte[], string?> Sign(Signing signing) => signing switch
    {
        Signing.Valid or Signing.Twice => FuzzDeployment.ValidSignature,
        Signing.PreviousSecret => b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.PreviousSecret, FuzzDeployment.NowSeconds, b),
        Signing.UpperCaseHex => b => FuzzDeployment.ValidSignature(b)!.ToUpperInvariant().Replace("T=", "t=", StringComparison.Ordinal).Replace("V1=", "v1=", StringComparison.Ordinal),
        Signing.None => _ => null,
        Signing.WrongSecret => b => WebhookSignatureVerifier.CreateHeader("not-the-secret", FuzzDeployment.NowSeconds, b),
        Signing.Stale => b => WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, FuzzDeployment.NowSeconds - 301, b),
        _ => _ => "t=abc,v1=xyz",
    };
}
