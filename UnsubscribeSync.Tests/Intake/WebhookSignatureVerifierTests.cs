using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;

namespace UnsubscribeSync.Tests.Intake;

public class WebhookSignatureVerifierTests
{
    private const string Secret = "whsec-test-1";
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"a","email":"a@b.co"}""");
    private readonly FakeTimeProvider _time = new(Now);

    private const string PreviousSecret = "whsec-test-0";

    private WebhookSignatureVerifier Create(string? secret = Secret, string? previous = null) =>
        new(Options.Create(new WebhookOptions { SigningSecret = secret, PreviousSigningSecret = previous }), _time);

    [Fact]
    public void Verify_ValidSignature_ReturnsNull()
    {
        // Arrange
        var header = WebhookSignatureVerifier.CreateHeader(Secret, Now.ToUnixTimeSeconds(), Body);

        // Act
        var problem = Create().Verify(header, Body);

        // Assert
        Assert.Null(problem);
    }

    [Fact]
    public void Verify_KnownVector_MatchesIndependentHmac()
    {
        // Arrange: printf '%s' '1764331200.{body}' | openssl dgst -sha256 -hmac 'whsec-test-1'
        const string header = "t=1764331200,v1=0f6b7f0b4ba479af51a49d4ff8f2b5376597bdf401671401598e21f645b24dca";
        var verifier = new WebhookSignatureVerifier(
            Options.Create(new WebhookOptions { SigningSecret = Secret }), new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1764331200)));

        // Act
        var problem = verifier.Verify(header, Body);

        // Assert
        Assert.Null(problem);
        Assert.Equal(header, WebhookSignatureVerifier.CreateHeader(Secret, 1764331200, Body));
    }

    [Fact]
    public void Verify_WrongSecret_ReturnsMismatch()
    {
        // Arrange
        var header = WebhookSignatureVerifier.CreateHeader("other-secret", Now.ToUnixTimeSeconds(), Body);

        // Act
        var problem = Create().Verify(header, Body);

        // Assert
        Assert.Contains("does not match", problem);
    }

    [Fact]
    public void Verify_BodyChanged_ReturnsMismatch()
    {
        // Arrange
        var header = WebhookSignatureVerifier.CreateHeader(Secret, Now.ToUnixTimeSeconds(), Body);

        // Act
        var problem = Create().Verify(header, Encoding.UTF8.GetBytes("""{"id":"b","email":"a@b.co"}"""));

        // Assert
        Assert.Contains("does not match", problem);
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    public void Verify_TimestampOutsideTolerance_ReturnsStale(int offsetSeconds)
    {
        // Arrange
        var header = WebhookSignatureVerifier.CreateHeader(Secret, Now.ToUnixTimeSeconds() + offsetSeconds, Body);

        // Act
        var problem = Create().Verify(header, Body);

        // Assert
        Assert.Contains("300 seconds", problem);
    }

    [Fact]
    public void Verify_TimestampAtTolerance_IsAccepted()
    {
        // Arrange
        var header = WebhookSignatureVerifier.CreateHeader(Secret, Now.ToUnixTimeSeconds() - 300, Body);

        // Act
        var problem = Create().Verify(header, Body);

        // Assert
        Assert.Null(problem);
    }

    [Theory]
    [InlineData(null, "is required")]
    [InlineData("", "is required")]
    [InlineData("v1=abc", "must look like")]
    [InlineData("t=1764331200", "must look like")]
    [InlineData("t=soon,v1=00", "must look like")]
    public void Verify_MissingOrMalformedHeader_ReturnsProblem(string? header, string expected)
    {
        // Act
        var problem = Create().Verify(header, Body);

        // Assert
        Assert.Contains(expected, problem);
    }

    [Fact]
    public void Verify_SecondSignatureMatches_IsAccepted()
    {
        // Arrange: during a secret rotation the sender signs with both secrets.
        var t = Now.ToUnixTimeSeconds();
        var oldSig = WebhookSignatureVerifier.CreateHeader("old-secret", t, Body).Split(",v1=")[1];
        var newSig = WebhookSignatureVerifier.CreateHeader(Secret, t, Body).Split(",v1=")[1];

        // Act
        var problem = Create().Verify($"t={t},v1={oldSig},v1={newSig}", Body);

        // Assert
        Assert.Null(problem);
    }

    [Fact]
    public void Verify_NoSecretConfigured_AcceptsWithoutHeader()
    {
        // Act
        var verifier = Create(secret: null);

        // Assert
        Assert.False(verifier.IsRequired);
        Assert.Null(verifier.Verify(null, Body));
    }

    [Fact]
    public void Verify_SignedWithPreviousSecretDuringRotation_IsAccepted()
    {
        // Arrange: the sender still signs with the old secret while our Key Vault references refresh.
        var header = WebhookSignatureVerifier.CreateHeader(PreviousSecret, Now.ToUnixTimeSeconds(), Body);

        // Act
        var problem = Create(previous: PreviousSecret).Verify(header, Body);

        // Assert
        Assert.Null(problem);
    }

    [Fact]
    public void Verify_SignedWithCurrentSecretWhilePreviousIsSet_IsAccepted()
    {
        // Arrange
        var header = WebhookSignatureVerifier.CreateHeader(Secret, Now.ToUnixTimeSeconds(), Body);

        // Act
        var problem = Create(previous: PreviousSecret).Verify(header, Body);

        // Assert
        Assert.Null(problem);
    }

    [Fact]
    public void Verify_SignedWithNeitherSecret_ReturnsMismatch()
    {
        // Arrange
        var header = WebhookSignatureVerifier.CreateHeader("retired-long-ago", Now.ToUnixTimeSeconds(), Body);

        // Act
        var problem = Create(previous: PreviousSecret).Verify(header, Body);

        // Assert
        Assert.Contains("does not match", problem);
    }

    [Fact]
    public void Verify_PreviousSecretWithStaleTimestamp_ReturnsStale()
    {
        // Arrange: the previous secret widens who may sign, never how old a signature may be.
        var header = WebhookSignatureVerifier.CreateHeader(PreviousSecret, Now.ToUnixTimeSeconds() - 301, Body);

        // Act
        var problem = Create(previous: PreviousSecret).Verify(header, Body);

        // Assert
        Assert.Contains("300 seconds", problem);
    }
}
