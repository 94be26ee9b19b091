namespace UnsubscribeSync.Tests.Intake;

/// <summary>
/// One named kind of malformed or hostile webhook request, and what the contract says the answer is. The requests
/// in <see cref="Before"/> are sent first (each must be answered 202), so a case can replay or repeat an event.
/// </summary>
public sealed record HostileCase(string Kind, string Name, HostileRequest Request, Expect Expect)
{
    public IReadOnlyList<HostileRequest> Before { get; init; } = [];

    /// <summary>Whether the deployment requires signatures (most cases); false for one that has no secret set.</summary>
    public bool Signed { get; init; } = true;

    public override string ToString() => $"{Kind}: {Name}";
}

/// <summary>The answer a case expects, beyond the promises every answer keeps.</summary>
/// <param name="Status">The status code.</param>
public sealed record Expect(int Status)
{
    /// <summary>The accepted ids, in order, when the case pins them.</summary>
    public IReadOnlyList<string>? Accepted { get; init; }

    /// <summary>The duplicate ids, in order, when the case pins them.</summary>
    public IReadOnlyList<string>? Duplicates { get; init; }

    /// <summary>A field or header the answer must name (in a problem, a rejection or a warning).</summary>
    public string? Names { get; init; }

    /// <summary>Whether the answer must carry no rejection and no warning.</summary>
    public bool Clean { get; init; }

    public void AssertMet(WebhookAnswer answer, string context)
    {
        var where = $"{context}: answered {answer.Status}, accepted [{string.Join(", ", answer.Accepted)}], duplicates [{string.Join(", ", answer.Duplicates)}], "
            + $"named [{string.Join(", ", answer.NamedFields)}]";
        Assert.True(answer.Status == Status, $"{where}; expected {Status}");
        Assert.True(Accepted is null || answer.Accepted.SequenceEqual(Accepted), $"{where}; expected accepted [{string.Join(", ", Accepted ?? [])}]");
        Assert.True(Duplicates is null || answer.Duplicates.SequenceEqual(Duplicates), $"{where}; expected duplicates [{string.Join(", ", Duplicates ?? [])}]");
        Assert.True(Names is null || answer.NamedFields.Contains(Names), $"{where}; expected it to name {Names}");
        Assert.True(!Clean || (answer.Rejected.Count == 0 && answer.Warnings.Count == 0), $"{where}; expected no rejection or warning");
    }
}
