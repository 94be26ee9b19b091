namespace UnsubscribeSync.SalesforceSandbox;

/// <summary>Source-generated log messages of the sandbox; never tokens or email addresses.</summary>
internal static partial class SandboxLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Salesforce sandbox listening on {Addresses}")]
    public static partial void Listening(ILogger logger, string addresses);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Created {Count} records through the control API")]
    public static partial void RecordsCreated(ILogger logger, int count);
}
