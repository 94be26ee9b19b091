using System.Text;
using Azure.Data.Tables;
using UnsubscribeSync.Functions.Intake;
using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>Bodies broken in their bytes (encodings, byte order marks, broken characters) or their nesting.</summary>
public sealed class HostileBodyIntegrationTests(HostileStorageFixture fixture) : HostileRequestIntegrationTests(fixture)
{
    public static TheoryData<string, HostileCase> Cases => CasesOf(HostileCatalogue.Encoding, HostileCatalogue.Nesting);

    [Theory]
    [MemberData(nameof(Cases), DisableDiscoveryEnumeration = true)]
    public Task Run_BrokenEncodingOrNesting_KeepsTheContractAndWritesNoPartialEvent(string name, HostileCase hostile)
    {
        return RunAsync(name, hostile);
    }

    [Fact]
    public async Task Run_ReasonWithBrokenCharacters_IsStoredRepaired()
    {
        // Arrange
        await using var storage = new TestStorage();
        await storage.Bootstrap.EnsureCreatedAsync(Ct);
        await using var services = FuzzDeployment.Build(storage, signed: false);
        var body = Encoding.UTF8.GetBytes("""{"id":"h-1","email":"h@example.com","salesforceId":"0035g00000ABCde","reason":"cut \ud83d and X"}""");
        body[^3] = 0xFF;

        // Act
        var outcome = await FuzzDeployment.PostAsync(services, new HostileRequest(body), Ct);

        // Assert
        Assert.True(outcome.Status == 202, outcome.Body);
        var intake = storage.Clients.Tables.GetTableClient(storage.Names.IntakeTable);
        var stored = StoredEvent.Deserialize(Assert.Single(await intake.QueryAsync<TableEntity>(cancellationToken: Ct).ToListAsync(Ct)).GetString("EventJson"));
        Assert.Equal("cut \ufffd and \ufffd", stored.Reason);
    }
}
