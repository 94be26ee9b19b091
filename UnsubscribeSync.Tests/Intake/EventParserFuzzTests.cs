using System.Text;
using CsCheck;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Configuration;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Functions.Ledger;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// Randomized properties of the parser and the signature check, with CsCheck: random JSON trees and events written
/// byte by byte, random byte mutations of them, random bytes, and strings of any UTF-16 code units in every field.
/// Whatever arrives, <see cref="EventParser.Parse"/> returns a <see cref="ParseResult"/> (it throws nothing) holding only
/// events the intake can record as they are, and problems that name their field. A failure prints CsCheck's seed;
/// set <c>CsCheck_Seed</c> to run that case again.
/// </summary>
public class EventParserFuzzTests
{
    private const int Iterations = 2000;
    private static readonly DateTimeOffset Now = FuzzDeployment.Now;
    private static readonly DateTimeOffset Earliest = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly EventParser _parser = new(new FakeTimeProvider(Now));

    private static string Print(byte[] body) => $"{body.Length} bytes: {Convert.ToHexString(body.AsSpan(0, Math.Min(body.Length, 400)))}";

    [Fact]
    public void Parse_RandomBodiesAndMutationsOfThem_ReturnsOnlyRecordableEventsAndNamedProblems()
    {
        var outcomes = new int[4];
        WebhookGenerators.BodyBytes.Sample(
            body =>
            {
                var result = _parser.Parse(body);
                AssertWellFormed(result);
                Interlocked.Increment(ref outcomes[result.RequestErrors.Count > 0 ? 0 : result.Events.Count == 0 ? 1 : result.IsValid && result.Warnings.Count == 0 ? 2 : 3]);
            },
            iter: Iterations,
            print: Print);

        // The generator reaches every outcome often: refused whole, every event rejected, all recorded cleanly, recorded with problems.
        Assert.All(outcomes, count => Assert.True(count > Iterations / 50, $"outcomes {string.Join(", ", outcomes)}"));
    }

    [Fact]
    public void Parse_RandomBytes_ReturnsOnlyRecordableEventsAndNamedProblems()
    {
        Gen.Byte.Array[0, 64].Sample(body => AssertWellFormed(_parser.Parse(body)), iter: Iterations, print: Print);
    }

    [Fact]
    public void Parse_AnyCodeUnitsInAnyField_RecordsTheEventWithTheFieldUsedRepairedOrReported()
    {
        var fields = Gen.OneOf("type", "salesforceId", "occurredAt", "source", "reason", "campaign");
        var text = Gen.Frequency((3, Gen.Char.Array[0, 24].Select(c => new string(c))), (1, WebhookGenerators.Text));
        Gen.Select(fields, text, Gen.Enum<WebhookGenerators.Style>()).Sample(
            (field, value, style) =>
            {
                // Arrange
                var body = WebhookGenerators.Write(new WebhookGenerators.JsonObject(
                [
                    ("id", new WebhookGenerators.JsonString("fz-1", WebhookGenerators.Style.Raw)),
                    ("email", new WebhookGenerators.JsonString("a@b.co", WebhookGenerators.Style.Raw)),
                    (field, new WebhookGenerators.JsonString(value, style)),
                ]));

                // Act
                var result = _parser.Parse(body);

                // Assert
                AssertWellFormed(result);
                if (field == "type" && value.Trim().ToLowerInvariant() == "resubscribe")
                {
                    return;
                }

                var e = Assert.Single(result.Events);
                if (field == "reason" && IsWellFormed(value) && !string.IsNullOrWhiteSpace(value))
                {
                    var clipped = value.Length <= EventParser.MaxReasonLength ? value
                        : value[..(char.IsHighSurrogate(value[EventParser.MaxReasonLength - 1]) ? EventParser.MaxReasonLength - 1 : EventParser.MaxReasonLength)];
                    Assert.Equal(clipped, e.Reason);
                }

                var used = field switch
                {
                    "type" => e.Type == ConsentEventType.Unsubscribe,
                    "salesforceId" => e.SalesforceId is not null,
                    "occurredAt" => e.OccurredAt != Now,
                    "source" => e.Source is not null,
                    _ => true,
                };
                Assert.True(used || string.IsNullOrWhiteSpace(value) || result.Warnings.Any(w => w.Field == field), $"{field} was neither used nor reported");
            },
            iter: Iterations,
            print: t => $"{t.Item1} = {string.Join(' ', t.Item2.Select(c => ((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture)))} ({t.Item3})");
    }

    [Fact]
    public void Verify_RandomHeaders_ThrowNothingAndPassOnlyWithTheValidSignature()
    {
        // Arrange
        var verifier = new WebhookSignatureVerifier(
            Options.Create(new WebhookOptions { SigningSecret = FuzzDeployment.Secret, PreviousSigningSecret = FuzzDeployment.PreviousSecret }),
            new FakeTimeProvider(Now));
        var body = Encoding.UTF8.GetBytes("""{"id":"fz-1","email":"a@b.co"}""");
        var valid = WebhookSignatureVerifier.CreateHeader(FuzzDeployment.Secret, FuzzDeployment.NowSeconds, body).Split(',');
        var junk = Gen.Frequency(
            (3, Gen.Select(Gen.OneOf("t", "v1", "v0", "sha256", "T", "V1", string.Empty), Gen.Frequency((2, WebhookGenerators.Text), (1, Gen.Long.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture))), (1, Gen.Byte.Array[32].Select(b => Convert.ToHexString(b)))), (k, v) => $"{k}={v}")),
            (1, WebhookGenerators.Text));

        // Act, Assert: junk alone never passes; the valid entries among junk that names no other timestamp always do.
        Gen.Select(junk.Array[0, 6], Gen.Int[0, 6]).Sample(
            (parts, at) =>
            {
                Assert.NotNull(verifier.Verify(string.Join(',', parts), body));
                var withValid = parts.Where(p => !p.StartsWith("t=", StringComparison.Ordinal)).ToList();
                withValid.InsertRange(Math.Min(at, withValid.Count), valid);
                Assert.Null(verifier.Verify(string.Join(',', withValid), body));
            },
            iter: Iterations);
    }

    /// <summary>
    /// What every parse result holds: a request-level problem alone, or events the intake can store and re-read as
    /// they are (a valid id and address, a time it can order by, text without broken characters) and problems that
    /// name a field with a reason.
    /// </summary>
    private static void AssertWellFormed(ParseResult result)
    {
        var errors = result.Errors;
        Assert.All(errors, e => Assert.True(e.Key.Length > 0 && e.Value.Length > 0 && e.Value.All(m => m.Length > 0), $"problem without a field or message: {e.Key}"));
        if (result.RequestErrors.Count > 0)
        {
            Assert.Empty(result.Events);
            Assert.Empty(result.Rejected);
            Assert.Empty(result.Warnings);
            return;
        }

        Assert.InRange(result.Events.Count + result.Rejected.Count, 1, WebhookOptions.MaxEventsPerRequest);
        foreach (var e in result.Events)
        {
            Assert.True(e.Id.Length is > 0 and <= EventParser.MaxIdLength && e.Id.All(c => c is >= ' ' and <= '~') && e.Id.Trim().Length > 0, $"id {e.Id}");
            Assert.True(EmailAddress.TryCreate(e.Email.Value, out var again, out _) && again == e.Email, $"address {e.Email.Value} is not stored as normalized");
            Assert.True(e.SalesforceId is null || SalesforceId.Parse(e.SalesforceId.Value.Value) == e.SalesforceId);
            Assert.InRange(e.OccurredAt, Earliest, Now.AddMinutes(5));
            Assert.Equal(TimeSpan.Zero, e.OccurredAt.Offset);
            Assert.Equal(Now, e.ReceivedAt);
            Assert.True(e.Source is null || ConsentEvent.Sources.Contains(e.Source), $"source {e.Source}");
            Assert.True(e.Reason is null || (e.Reason.Length <= EventParser.MaxReasonLength && IsWellFormed(e.Reason)), "reason too long or broken");
            Assert.True(e.Type == ConsentEventType.Unsubscribe || !string.IsNullOrWhiteSpace(e.Reason), "a resubscribe without a reason");

            // The sweep finishes a half-done intake from the stored form: it must read back as the same event.
            Assert.Equal(e, StoredEvent.Deserialize(StoredEvent.Serialize(e)));
        }

        Assert.All(result.Rejected, r => Assert.True(r.Errors.Count > 0 && (r.Id is null || r.Id.Length <= EventParser.MaxIdLength), $"rejection {r.Index} names nothing"));
        Assert.All(result.Warnings, w => Assert.True(result.Events.Any(e => e.Id == w.Id) && w.Field.Length > 0 && w.Message.Length > 0, $"warning {w.Field} for no recorded event"));
    }

    private static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }
}
