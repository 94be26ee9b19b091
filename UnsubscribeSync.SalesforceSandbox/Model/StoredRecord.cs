namespace UnsubscribeSync.SalesforceSandbox.Model;

/// <summary>
/// One Contact or Lead row. Values are keyed by <see cref="FieldDefinition.StorageKey"/> and hold
/// string, bool, DateTimeOffset or null. Guarded by the owning <see cref="RecordStore"/>'s lock.
/// </summary>
public sealed class StoredRecord(string type, string id)
{
    public string Type { get; } = type;

    public string Id { get; } = id;

    public Dictionary<string, object?> Values { get; } = new(StringComparer.Ordinal);

    public object? Get(string storageKey) => storageKey == "Id" ? Id : Values.GetValueOrDefault(storageKey);

    public bool IsDeleted => Values.GetValueOrDefault("IsDeleted") is true;

    public bool IsConverted => Values.GetValueOrDefault("IsConverted") is true;
}
