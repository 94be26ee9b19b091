namespace UnsubscribeSync.Functions.Ledger;

/// <summary>Where a day's chain first stops holding together.</summary>
/// <param name="Blob">The blob the offending line is in.</param>
/// <param name="Line">Its line number within that blob, from 1.</param>
/// <param name="Sequence">Its line number within the day (what <c>n</c> should be), from 1.</param>
/// <param name="Reason">What is wrong, in words.</param>
/// <param name="Expected">The value the chain calls for (a hash or a number), when there is one.</param>
/// <param name="Actual">The value the line has.</param>
public sealed record AuditChainBreak(string Blob, long Line, long Sequence, string Reason, string? Expected, string? Actual)
{
    public override string ToString() =>
        $"{Blob} line {Line} (line {Sequence} of the day): {Reason}" + (Expected is null ? string.Empty : $"; expected {Expected}, found {Actual}");
}

/// <summary>The verifier's finding for one day.</summary>
/// <param name="Day">The day verified.</param>
/// <param name="Blobs">How many blobs the day's chain has.</param>
/// <param name="Lines">Lines that verified, up to the break if there is one.</param>
/// <param name="LastHash">SHA-256 of the last line that verified (the day's genesis when there is none): record it to detect a later truncation.</param>
/// <param name="Break">The first break; null when the chain is intact.</param>
public sealed record AuditChainVerification(DateOnly Day, int Blobs, long Lines, string LastHash, AuditChainBreak? Break)
{
    public bool Intact => Break is null;
}

/// <summary>
/// Walks a day's chain from its genesis: every line must be a chain line, carry the next number and the SHA-256 of
/// the line before it, and end with a newline. A changed line shows as a wrong <c>prev</c> on the line after it; a
/// removed or inserted line as a wrong <c>prev</c> (and number) where it was. Only the chain is checked: the same entry
/// appearing twice (an entry retried across midnight) is not a break.
/// </summary>
public sealed class AuditChainVerifier(AuditChainStorage storage)
{
    public async Task<AuditChainVerification> VerifyAsync(DateOnly day, CancellationToken cancellationToken)
    {
        var segments = await storage.SegmentsAsync(day, cancellationToken);
        var expectedPrev = AuditChainFormat.Genesis(day);
        long sequence = 0;
        for (var i = 0; i < segments.Count; i++)
        {
            var (segment, name) = segments[i];
            if (segment != i)
            {
                return new(day, segments.Count, sequence, expectedPrev, new AuditChainBreak(
                    name, 1, sequence + 1, "a blob of the day is missing before this one", AuditChainFormat.BlobName(day, i), name));
            }

            var content = await storage.ReadAsync(name, cancellationToken);
            long lineNumber = 0;
            foreach (var (start, length, terminated) in Lines(content))
            {
                lineNumber++;
                var line = content.AsSpan(start, length);
                var broken = Check(line, terminated, sequence + 1, expectedPrev);
                if (broken is var (reason, expected, actual))
                {
                    return new(day, segments.Count, sequence, expectedPrev, new AuditChainBreak(name, lineNumber, sequence + 1, reason, expected, actual));
                }

                sequence++;
                expectedPrev = AuditChainFormat.HashOf(line);
            }
        }

        return new(day, segments.Count, sequence, expectedPrev, null);
    }

    /// <summary>The lines of a blob's content: start, length without the newline, and whether a newline ended it.</summary>
    public static IEnumerable<(int Start, int Length, bool Terminated)> Lines(byte[] content)
    {
        var start = 0;
        while (start < content.Length)
        {
            var end = Array.IndexOf(content, (byte)'\n', start);
            if (end < 0)
            {
                yield return (start, content.Length - start, false);
                yield break;
            }

            yield return (start, end - start, true);
            start = end + 1;
        }
    }

    private static (string Reason, string? Expected, string? Actual)? Check(ReadOnlySpan<byte> line, bool terminated, long sequence, string expectedPrev)
    {
        if (AuditChainFormat.Parse(line) is not { } parsed)
        {
            return ("not an audit chain line (not JSON with n, prev and entry)", null, null);
        }

        if (!string.Equals(parsed.Previous, expectedPrev, StringComparison.Ordinal))
        {
            return ("prev is not the SHA-256 of the line before it: that line was changed, or a line was removed or inserted here", expectedPrev, parsed.Previous);
        }

        if (parsed.Sequence != sequence)
        {
            return ("n is not the next line number", sequence.ToString(System.Globalization.CultureInfo.InvariantCulture),
                parsed.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return terminated ? null : ("the last line has no newline: the blob was not written by appends of whole lines", null, null);
    }
}
