using System.Globalization;
using System.Reflection;
using Azure.Data.Tables;

namespace UnsubscribeSync.Functions.Storage;

/// <summary>
/// Turns an untyped row into a typed entity, so one partition query can return rows of several shapes
/// (the ledger's state and link rows) and each be read as its own type.
/// </summary>
public static class TableRows
{
    public static T Read<T>(TableEntity row)
        where T : class, ITableEntity, new()
    {
        var entity = new T { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag, Timestamp = row.Timestamp };
        foreach (var property in DataProperties<T>.All)
        {
            if (!row.TryGetValue(property.Name, out var value) || value is null)
            {
                continue;
            }

            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            property.SetValue(entity, value switch
            {
                // The SDK writes enums as their names and reads date-times back as UTC DateTime.
                string name when target.IsEnum => Enum.Parse(target, name),
                DateTime dt when target == typeof(DateTimeOffset) => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
                _ => Convert.ChangeType(value, target, CultureInfo.InvariantCulture),
            });
        }

        return entity;
    }

    private static class DataProperties<T>
    {
        public static readonly PropertyInfo[] All = typeof(T).GetProperties()
            .Where(p => p.CanWrite && p.Name is not (nameof(ITableEntity.PartitionKey) or nameof(ITableEntity.RowKey)
                or nameof(ITableEntity.ETag) or nameof(ITableEntity.Timestamp)))
            .ToArray();
    }
}
