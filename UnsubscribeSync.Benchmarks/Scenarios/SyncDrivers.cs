namespace UnsubscribeSync.Benchmarks.Scenarios;

/// <summary>Picks the sync driver: the app's NightlySync + RunSyncBatch once they exist.</summary>
public static class SyncDrivers
{
    public static ISyncDriver Create() => new NotWiredSyncDriver();
}
