namespace UnsubscribeSync.Tests.Intake;

/// <summary>Repeated keys, ids and requests; injection strings; edge-case and look-alike addresses.</summary>
public sealed class HostileValueIntegrationTests(HostileStorageFixture fixture) : HostileRequestIntegrationTests(fixture)
{
    public static TheoryData<string, HostileCase> Cases => CasesOf(HostileCatalogue.Duplicate, HostileCatalogue.Injection, HostileCatalogue.Email);

    [Theory]
    [MemberData(nameof(Cases), DisableDiscoveryEnumeration = true)]
    public Task Run_DuplicateOrInjectedValue_KeepsTheContractAndWritesNoPartialEvent(string name, HostileCase hostile)
    {
        return RunAsync(name, hostile);
    }
}
