using System.Text.Json.Nodes;
using UnsubscribeSync.SalesforceSandbox.Http;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Query;

/// <summary>Runs parsed SOQL against the store and renders result pages with <c>nextRecordsUrl</c>.</summary>
public sealed class QueryExecutor(RecordStore store, QueryCursorStore cursors)
{
    public JsonObject Execute(string soql, bool includeDeleted, int batchSize, string version, SandboxSettings settings)
    {
        var query = SoqlParser.Parse(soql, settings);
        var type = query.Schema.Name;
        List<(string, object?[])> rows;
        lock (store.Gate)
        {
            var matches = store.Rows.Where(r => r.Type == type && (includeDeleted || !r.IsDeleted) && (query.Where?.Evaluate(r) ?? true));
            if (query.OrderBy is { } order)
            {
                var comparer = Comparer<object?>.Create((a, b) =>
                {
                    if (a is null != b is null)
                    {
                        return (a is null) == query.NullsLast ? 1 : -1;
                    }

                    return query.Descending ? SoqlValues.Compare(b, a) : SoqlValues.Compare(a, b);
                });
                matches = matches.OrderBy(r => r.Get(order.StorageKey), comparer);
            }

            if (query.Offset is { } skip)
            {
                matches = matches.Skip(skip);
            }

            if (query.Limit is { } take)
            {
                matches = matches.Take(take);
            }

            rows = query.IsCount
                ? [.. matches.Select(r => (r.Id, Array.Empty<object?>()))]
                : [.. matches.Select(r => (r.Id, query.Fields.Select(f => r.Get(f.StorageKey)).ToArray()))];
        }

        if (query.IsCount)
        {
            return new JsonObject { ["totalSize"] = rows.Count, ["done"] = true, ["records"] = new JsonArray() };
        }

        var results = new QueryResultSet(type, query.Fields, rows, batchSize);
        var cursorId = rows.Count > batchSize ? cursors.Open(results) : null;
        return Page(results, cursorId, 0, version);
    }

    public JsonObject? Continue(string locator, string version)
    {
        if (!cursors.TryGet(locator, out var cursorId, out var offset, out var results))
        {
            return null;
        }

        var page = Page(results, cursorId, offset, version);
        if (page["done"]!.GetValue<bool>())
        {
            cursors.Close(cursorId);
        }

        return page;
    }

    private static JsonObject Page(QueryResultSet results, string? cursorId, int offset, string version)
    {
        var end = Math.Min(results.Rows.Count, offset + results.BatchSize);
        var records = new JsonArray();
        for (var i = offset; i < end; i++)
        {
            var (id, values) = results.Rows[i];
            var record = new JsonObject
            {
                ["attributes"] = new JsonObject
                {
                    ["type"] = results.Type,
                    ["url"] = $"/services/data/v{version}/sobjects/{results.Type}/{id}",
                },
            };
            for (var f = 0; f < results.Fields.Count; f++)
            {
                record[results.Fields[f].Name] = SalesforceJson.ToNode(values[f]);
            }

            records.Add(record);
        }

        var done = end >= results.Rows.Count;
        var page = new JsonObject { ["totalSize"] = results.Rows.Count, ["done"] = done };
        if (!done)
        {
            page["nextRecordsUrl"] = $"/services/data/v{version}/query/{cursorId}-{end}";
        }

        page["records"] = records;
        return page;
    }
}
