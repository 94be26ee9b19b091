namespace UnsubscribeSync.Tests.Intake;

/// <summary>Content-Type variants, headers the webhook does not read, an upload cut short, and signatures wrong in every way.</summary>
public sealed class HostileHeaderIntegrationTests(HostileStorageFixture fixture) : HostileRequestIntegrationTests(fixture)
{
    public static TheoryData<string, HostileCase> Cases => CasesOf(HostileCatalogue.Header, HostileCatalogue.Signature);

    [Theory]
    [MemberData(nameof(Cases), DisableDiscoveryEnumeration = true)]
    public Task Run_HostileHeaderOrSignature_KeepsTheContractAndWritesNoPartialEvent(string name, HostileCase hostile)
    {
        return RunAsync(name, hostile);
    }
}
