using System.Collections.Concurrent;
using UnsubscribeSync.SalesforceSandbox.Model;

namespace UnsubscribeSync.SalesforceSandbox.Query;

/// <summary>The rows a query selected, frozen when it ran, served page by page.</summary>
public sealed record QueryResultSet(string Type, IReadOnlyList<FieldDefinition> Fields, IReadOnlyList<(string Id, object?[] Values)> Rows, int BatchSize);

/// <summary>
/// Open query cursors, addressed by locators of the documented <c>{cursorId}-{offset}</c> form.
/// A cursor is dropped once its last page is served; the oldest go when too many are open.
/// </summary>
public sealed class QueryCursorStore
{
    private const int MaxOpenCursors = 200;

    private readonly ConcurrentDictionary<string, (QueryResultSet Results, long Sequence)> _cursors = new(StringComparer.OrdinalIgnoreCase);
    private long _sequence;

    public string Open(QueryResultSet results)
    {
        var sequence = Interlocked.Increment(ref _sequence);
        var cursorId = SandboxIds.Create("01g", sequence);
        _cursors[cursorId] = (results, sequence);
        if (_cursors.Count > MaxOpenCursors)
        {
            foreach (var stale in _cursors.OrderBy(c => c.Value.Sequence).Take(_cursors.Count - MaxOpenCursors).ToList())
            {
                _cursors.TryRemove(stale.Key, out _);
            }
        }

        return cursorId;
    }

    public bool TryGet(string locator, out string cursorId, out int offset, out QueryResultSet results)
    {
        results = null!;
        offset = 0;
        var dash = locator.LastIndexOf('-');
        cursorId = dash > 0 ? locator[..dash] : locator;
        if (dash <= 0 || !int.TryParse(locator.AsSpan(dash + 1), out offset) || offset < 0
            || !_cursors.TryGetValue(cursorId, out var entry) || offset > entry.Results.Rows.Count)
        {
            return false;
        }

        results = entry.Results;
        return true;
    }

    public void Close(string cursorId) => _cursors.TryRemove(cursorId, out _);

    public void Clear() => _cursors.Clear();
}
