using System.Reflection;
using System.Text.RegularExpressions;

namespace UnsubscribeSync.Tests.Architecture;

/// <summary>
/// The rules of docs/architecture.md, checked on the source: who may change a link's state, and which way
/// the app's folders may depend on each other.
/// </summary>
public sealed partial class DependencyRulesTests
{
    private static readonly string Root = Path.GetFullPath(typeof(DependencyRulesTests).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!);

    private static readonly string App = Path.Combine(Root, "UnsubscribeSync.Functions");

    /// <summary>Folders of the app and the folders of ours each may not reference.</summary>
    public static TheoryData<string, string[]> Forbidden() => new()
    {
        { "Shared", ["Configuration", "Consent", "Delivery", "Functions", "Hosting", "Http", "Intake", "Ledger", "Push", "Salesforce", "Storage", "Sync"] },
        { "Salesforce", ["Configuration", "Consent", "Delivery", "Functions", "Hosting", "Http", "Intake", "Ledger", "Push", "Storage", "Sync"] },
        { "Storage", ["Consent", "Delivery", "Functions", "Hosting", "Http", "Intake", "Ledger", "Push", "Salesforce", "Sync"] },
        { "Ledger", ["Consent", "Delivery", "Functions", "Hosting", "Http", "Intake", "Push", "Salesforce", "Sync"] },
        { "Delivery", ["Consent", "Functions", "Hosting", "Http", "Intake", "Push", "Sync"] },
        { "Push", ["Consent", "Functions", "Hosting", "Intake", "Sync"] },
        { "Intake", ["Consent", "Delivery", "Functions", "Hosting", "Sync"] },
        { "Sync", ["Consent", "Functions", "Hosting", "Push"] },
        // The way back to the sender reads the ledger and its feed; it writes nothing to Salesforce.
        { "Consent", ["Delivery", "Functions", "Hosting", "Intake", "Push", "Salesforce", "Sync"] },
    };

    private static IEnumerable<string> SourceFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void Folder_References_PointOnlyDownwards(string folder, string[] forbidden)
    {
        // Act
        var violations = SourceFiles(Path.Combine(App, folder))
            .SelectMany(file => Namespaces().Matches(File.ReadAllText(file))
                .Select(m => m.Groups[1].Value)
                .Where(forbidden.Contains)
                .Select(target => $"{Path.GetRelativePath(App, file)} -> {target}"))
            .Distinct()
            .ToList();

        // Assert
        Assert.Empty(violations);
    }

    [Fact]
    public void LinkStatus_AssignedOnlyByTheLinksOwnTransitions()
    {
        // Act: every assignment of a link status anywhere in the repository's C#.
        var owner = Path.Combine(App, "Ledger", "LedgerEntities.cs");
        var violations = new[] { "UnsubscribeSync.Functions", "UnsubscribeSync.Tests", "UnsubscribeSync.Benchmarks" }
            .SelectMany(project => SourceFiles(Path.Combine(Root, project)))
            .Where(file => file != owner && Path.GetFileName(file) != nameof(DependencyRulesTests) + ".cs")
            .SelectMany(file => File.ReadAllLines(file)
                .Select((line, index) => (line, index))
                .Where(l => StatusAssignment().IsMatch(l.line))
                .Select(l => $"{Path.GetRelativePath(Root, file)}:{l.index + 1}: {l.line.Trim()}"))
            .ToList();

        // Assert
        Assert.Empty(violations);
        Assert.Matches(StatusAssignment(), "        Status = LinkStatus.Synced;");
        Assert.Matches(StatusAssignment(), "link.Status = nameof(LinkStatus.Failed);");
        Assert.Matches(StatusAssignment(), "l.Status = \"Pending\";");
    }

    // "using UnsubscribeSync.Functions.Sync;" or a qualified "UnsubscribeSync.Functions.Sync.X".
    [GeneratedRegex(@"UnsubscribeSync\.Functions\.(\w+)\b")]
    private static partial Regex Namespaces();

    [GeneratedRegex(@"\bStatus\s*=\s*(LinkStatus\.|nameof\(LinkStatus|""(Pending|Synced|Failed|Deferred|Blocked|Dead|NotRequired)"")")]
    private static partial Regex StatusAssignment();
}
