using System.ComponentModel.DataAnnotations;

namespace UnsubscribeSync.Functions.Configuration;

/// <summary>
/// Names of the tables and queues the app owns. The queue names are the same top-level app settings
/// the triggers resolve (<c>%PushQueueName%</c>), so producer and consumer cannot drift apart.
/// </summary>
public sealed class StorageOptions
{
    public const string PushQueueSetting = "PushQueueName";
    public const string SyncBatchQueueSetting = "SyncBatchQueueName";
    public const string ConsentFeedQueueSetting = "ConsentFeedQueueName";
    public const string NotifyQueueSetting = "NotifyQueueName";

    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:LedgerTable must be a valid table name.")]
    public string LedgerTable { get; set; } = "Ledger";

    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:AuditTable must be a valid table name.")]
    public string AuditTable { get; set; } = "Audit";

    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:IntakeTable must be a valid table name.")]
    public string IntakeTable { get; set; } = "Intake";

    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:SyncRunsTable must be a valid table name.")]
    public string SyncRunsTable { get; set; } = "SyncRuns";

    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:SyncStateTable must be a valid table name.")]
    public string SyncStateTable { get; set; } = "SyncState";

    [RegularExpression("^[A-Za-z][A-Za-z0-9]{2,62}$", ErrorMessage = "Storage:ConsentFeedTable must be a valid table name.")]
    public string ConsentFeedTable { get; set; } = "ConsentFeed";

    /// <summary>Bound from the top-level <c>PushQueueName</c> setting.</summary>
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$", ErrorMessage = "PushQueueName must be a valid queue name of at most 56 characters (so its -poison queue is valid).")]
    public string PushQueue { get; set; } = "unsubscribe-push";

    /// <summary>Bound from the top-level <c>SyncBatchQueueName</c> setting.</summary>
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$", ErrorMessage = "SyncBatchQueueName must be a valid queue name of at most 56 characters (so its -poison queue is valid).")]
    public string SyncBatchQueue { get; set; } = "sync-batches";

    /// <summary>Bound from the top-level <c>ConsentFeedQueueName</c> setting: addresses whose consent changes wait to enter the feed.</summary>
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$", ErrorMessage = "ConsentFeedQueueName must be a valid queue name of at most 56 characters (so its -poison queue is valid).")]
    public string ConsentFeedQueue { get; set; } = "consent-feed";

    /// <summary>Bound from the top-level <c>NotifyQueueName</c> setting: notifications to the sender.</summary>
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$", ErrorMessage = "NotifyQueueName must be a valid queue name of at most 56 characters (so its -poison queue is valid).")]
    public string NotifyQueue { get; set; } = "notify";

    /// <summary>The queue the host moves a push message to after its last failed attempt.</summary>
    public string PushPoisonQueue => PushQueue + "-poison";

    /// <summary>The queue the host moves a feed message to after its last failed attempt.</summary>
    public string ConsentFeedPoisonQueue => ConsentFeedQueue + "-poison";

    /// <summary>The queue the host moves a notification to after its last failed attempt.</summary>
    public string NotifyPoisonQueue => NotifyQueue + "-poison";
}
