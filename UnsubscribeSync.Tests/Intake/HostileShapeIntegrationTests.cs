namespace UnsubscribeSync.Tests.Intake;

/// <summary>Bodies of every size around the limits, and values of the wrong JSON type.</summary>
public sealed class HostileShapeIntegrationTests(HostileStorageFixture fixture) : HostileRequestIntegrationTests(fixture)
{
    public static TheoryData<string, HostileCase> Cases => CasesOf(HostileCatalogue.Size, HostileCatalogue.Type);

    [Theory]
    [MemberData(nameof(Cases), DisableDiscoveryEnumeration = true)]
    public Task Run_WrongSizeOrType_KeepsTheContractAndWritesNoPartialEvent(string name, HostileCase hostile)
    {
        return RunAsync(name, hostile);
    }
}
