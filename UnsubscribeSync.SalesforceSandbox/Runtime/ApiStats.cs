namespace UnsubscribeSync.SalesforceSandbox.Runtime;

/// <summary>Counts every Salesforce request that reached the sandbox since the last reset, by kind.</summary>
public sealed class ApiStats
{
    private readonly int[] _counts = new int[Enum.GetValues<ApiKind>().Length];

    public void Count(ApiKind kind) => Interlocked.Increment(ref _counts[(int)kind]);

    public int Get(ApiKind kind) => Volatile.Read(ref _counts[(int)kind]);

    public void Reset() => Array.Clear(_counts);

    public Dictionary<string, int> Snapshot()
    {
        var result = new Dictionary<string, int>();
        var total = 0;
        foreach (var kind in Enum.GetValues<ApiKind>())
        {
            var count = Get(kind);
            total += count;
            result[char.ToLowerInvariant(kind.ToString()[0]) + kind.ToString()[1..]] = count;
        }

        result["total"] = total;
        return result;
    }
}
