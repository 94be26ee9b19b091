using UnsubscribeSync.Tests.Infrastructure;

namespace UnsubscribeSync.Tests.Intake;

/// <summary>One set of tables and queues for all cases of a class: creating them for each of a few hundred cases would cost most of the run.</summary>
public sealed class HostileStorageFixture : IAsyncLifetime
{
    public TestStorage Storage { get; } = new();

    public async ValueTask InitializeAsync()
    {
        // The host's start-up step creates the tables and queues before the first request.
        await Storage.Bootstrap.EnsureCreatedAsync(TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => Storage.DisposeAsync();
}

/// <summary>
/// Runs cases of the <see cref="HostileCatalogue"/> through the real function class, the app's composition root and
/// Azurite: the answer keeps the webhook's promises (<see cref="WebhookPromises"/>) and is the one the case expects.
/// Each case starts from empty storage (the one before removes what it wrote), and the catalogue is split over a few
/// classes by kind so that a failure names its kind.
/// </summary>
public abstract class HostileRequestIntegrationTests(HostileStorageFixture fixture) : IClassFixture<HostileStorageFixture>
{
    protected TestStorage Storage => fixture.Storage;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected static TheoryData<string, HostileCase> CasesOf(params string[] kinds)
    {
        var data = new TheoryData<string, HostileCase>();
        foreach (var hostile in HostileCatalogue.OfKinds(kinds))
        {
            data.Add(hostile.ToString(), hostile);
        }

        return data;
    }

    protected async Task RunAsync(string name, HostileCase hostile)
    {
        var probe = new StorageProbe(Storage);
        StorageSnapshot? after = null;
        try
        {
            // Arrange
            await using var services = FuzzDeployment.Build(Storage, hostile.Signed);
            foreach (var earlier in hostile.Before)
            {
                var first = await FuzzDeployment.PostAsync(services, earlier, Ct);
                Assert.True(first.Status == 202, $"{name}: the request before it answered {first.Status} {first.Body}");
            }

            var before = await probe.SnapshotAsync(Ct);

            // Act
            var outcome = await FuzzDeployment.PostAsync(services, hostile.Request, Ct);

            // Assert
            after = await probe.SnapshotAsync(Ct);
            var context = $"{name} [{hostile.Request.Describe()}]";
            var answer = WebhookPromises.AssertKept(outcome, before, after, context);
            hostile.Expect.AssertMet(answer, context);
        }
        finally
        {
            await probe.DeleteRowsAsync(after ?? await probe.SnapshotAsync(CancellationToken.None), CancellationToken.None);
        }
    }
}
