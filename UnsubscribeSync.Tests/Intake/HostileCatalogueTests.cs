namespace UnsubscribeSync.Tests.Intake;

public class HostileCatalogueTests
{
    [Fact]
    public void All_EveryKind_HoldsAtLeast100DistinctNamedCases()
    {
        // Arrange
        var cases = HostileCatalogue.All;

        // Act
        var names = cases.Select(c => c.ToString()).ToList();

        // Assert
        Assert.True(names.Distinct(StringComparer.OrdinalIgnoreCase).Count() == names.Count, "two cases share a name: " + string.Join(", ", names.GroupBy(n => n, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key)));
        Assert.True(names.Count >= 100, $"{names.Count} kinds");
        Assert.All(cases.GroupBy(c => c.Kind), g => Assert.True(g.Count() >= 5, $"{g.Key}: {g.Count()} kinds"));
    }

    [Fact]
    public void All_EveryCase_IsRunByExactlyOneIntegrationTestClass()
    {
        // Arrange
        TheoryData<string, HostileCase>[] runs =
            [HostileBodyIntegrationTests.Cases, HostileShapeIntegrationTests.Cases, HostileValueIntegrationTests.Cases, HostileHeaderIntegrationTests.Cases];

        // Act
        var run = runs.SelectMany(r => r.Select(row => row.Data.Item1)).ToList();

        // Assert
        Assert.Equal(HostileCatalogue.All.Select(c => c.ToString()).Order(StringComparer.Ordinal), run.Order(StringComparer.Ordinal));
    }
}
