using System.Reflection;
using System.Text.Json.Nodes;

namespace UnsubscribeSync.Tests.Hosting;

/// <summary>
/// The host wires triggers from the build's generated <c>functions.metadata</c>; Core Tools can't run
/// here, so these tests read that file to prove each function is bound as the design says.
/// </summary>
public class FunctionMetadataTests
{
    private static readonly Lazy<JsonArray> Metadata = new(() =>
    {
        var directory = typeof(FunctionMetadataTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "FunctionsOutputDirectory").Value!;
        var path = Path.Combine(directory, "functions.metadata");
        Assert.True(File.Exists(path), $"Build the Functions project first: {path} is missing.");
        return JsonNode.Parse(File.ReadAllText(path))!.AsArray();
    });

    internal static JsonObject Function(string name) =>
        Metadata.Value.Select(f => f!.AsObject()).SingleOrDefault(f => (string?)f["name"] == name)
        ?? throw new Xunit.Sdk.XunitException($"functions.metadata has no function named {name}.");

    internal static JsonObject Trigger(string name) =>
        Function(name)["bindings"]!.AsArray().Select(b => b!.AsObject()).Single(b => ((string)b["type"]!).EndsWith("Trigger", StringComparison.Ordinal));

    [Fact]
    public void ReceiveUnsubscribes_Metadata_IsPostOnApiUnsubscribesWithFunctionKey()
    {
        // Act
        var trigger = Trigger("ReceiveUnsubscribes");

        // Assert
        Assert.Equal("httpTrigger", (string?)trigger["type"]);
        Assert.Equal("In", (string?)trigger["direction"]);
        Assert.Equal("unsubscribes", (string?)trigger["route"]);
        Assert.Equal(["post"], trigger["methods"]!.AsArray().Select(m => ((string)m!).ToLowerInvariant()));
        Assert.Equal("Function", (string?)trigger["authLevel"]);
    }

    [Theory]
    [InlineData("PushToSalesforce", "%PushQueueName%")]
    [InlineData("RecordPushFailure", "%PushQueueName%-poison")]
    public void PushFunctions_Metadata_AreQueueTriggersOnTheConfiguredQueue(string function, string queueName)
    {
        // Act
        var trigger = Trigger(function);

        // Assert: the queue name comes from an app setting, and no Connection means AzureWebJobsStorage.
        Assert.Equal("queueTrigger", (string?)trigger["type"]);
        Assert.Equal(queueName, (string?)trigger["queueName"]);
        Assert.Null(trigger["connection"]);
    }

    [Fact]
    public void HostJson_QueueSettings_MeetTheLatencyTargetAndMatchTheProducer()
    {
        // Arrange
        var root = typeof(FunctionMetadataTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

        // Act
        var queues = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "host.json")))!["extensions"]!["queues"]!;

        // Assert: an idle poll of at most 2 s keeps an unsubscribe's p99 within the 10 s target.
        Assert.True(TimeSpan.Parse((string)queues["maxPollingInterval"]!) <= TimeSpan.FromSeconds(2));
        Assert.Equal("base64", (string?)queues["messageEncoding"]);
        Assert.InRange((int)queues["maxDequeueCount"]!, 3, 10);
    }

    [Fact]
    public void HostJson_RoutePrefix_IsApi()
    {
        // Arrange
        var root = typeof(FunctionMetadataTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!;

        // Act
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "host.json")))!;

        // Assert
        Assert.Equal("2.0", (string?)host["version"]);
        Assert.Equal("api", (string?)host["extensions"]!["http"]!["routePrefix"]);
    }

    [Fact]
    public void NightlySync_Metadata_IsTimerOnScheduleSetting()
    {
        // Act
        var trigger = Trigger("NightlySync");

        // Assert
        Assert.Equal("timerTrigger", (string?)trigger["type"]);
        Assert.Equal("%NightlySyncSchedule%", (string?)trigger["schedule"]);
    }

    [Theory]
    [InlineData("RunSyncBatch", "%SyncBatchQueueName%")]
    [InlineData("RecordSyncBatchFailure", "%SyncBatchQueueName%-poison")]
    public void SyncBatchFunctions_Metadata_AreQueueTriggersOnSyncBatchQueueSetting(string function, string queueName)
    {
        // Act
        var trigger = Trigger(function);

        // Assert
        Assert.Equal("queueTrigger", (string?)trigger["type"]);
        Assert.Equal(queueName, (string?)trigger["queueName"]);
    }

    [Theory]
    [InlineData("GetConsent", "consent/{email}")]
    [InlineData("GetConsentChanges", "consent/changes")]
    public void ConsentApi_Metadata_IsGetWithFunctionKey(string function, string route)
    {
        // Act
        var trigger = Trigger(function);

        // Assert: a function key as well as the app's own consent key (checked in code).
        Assert.Equal("httpTrigger", (string?)trigger["type"]);
        Assert.Equal(route, (string?)trigger["route"]);
        Assert.Equal(["get"], trigger["methods"]!.AsArray().Select(m => ((string)m!).ToLowerInvariant()));
        Assert.Equal("Function", (string?)trigger["authLevel"]);
    }

    [Theory]
    [InlineData("PublishConsentChanges", "%ConsentFeedQueueName%")]
    [InlineData("RecordConsentFeedFailure", "%ConsentFeedQueueName%-poison")]
    [InlineData("SendConsentNotification", "%NotifyQueueName%")]
    [InlineData("RecordNotificationFailure", "%NotifyQueueName%-poison")]
    public void ConsentQueueFunctions_Metadata_AreQueueTriggersOnTheConfiguredQueue(string function, string queueName)
    {
        // Act
        var trigger = Trigger(function);

        // Assert
        Assert.Equal("queueTrigger", (string?)trigger["type"]);
        Assert.Equal(queueName, (string?)trigger["queueName"]);
        Assert.Null(trigger["connection"]);
    }

    [Fact]
    public void SweepConsentFeed_Metadata_IsTimerOnScheduleSetting()
    {
        // Act
        var trigger = Trigger("SweepConsentFeed");

        // Assert
        Assert.Equal("timerTrigger", (string?)trigger["type"]);
        Assert.Equal("%ConsentFeedSweepSchedule%", (string?)trigger["schedule"]);
    }

    [Theory]
    [InlineData("GetStatus", "status")]
    [InlineData("GetStatusPage", "status/page")]
    public void StatusApi_Metadata_IsGetWithFunctionKey(string function, string route)
    {
        // Act
        var trigger = Trigger(function);

        // Assert: a function key as well as the admin key (checked in code).
        Assert.Equal("httpTrigger", (string?)trigger["type"]);
        Assert.Equal(route, (string?)trigger["route"]);
        Assert.Equal(["get"], trigger["methods"]!.AsArray().Select(m => ((string)m!).ToLowerInvariant()));
        Assert.Equal("Function", (string?)trigger["authLevel"]);
    }

    [Fact]
    public void RetryLinks_Metadata_IsPostWithFunctionKey()
    {
        // Act
        var trigger = Trigger("RetryLinks");

        // Assert: a POST (it changes state), with a function key as well as the admin key (checked in code).
        Assert.Equal("httpTrigger", (string?)trigger["type"]);
        Assert.Equal("links/retry", (string?)trigger["route"]);
        Assert.Equal(["post"], trigger["methods"]!.AsArray().Select(m => ((string)m!).ToLowerInvariant()));
        Assert.Equal("Function", (string?)trigger["authLevel"]);
    }

    [Fact]
    public void CountLedger_Metadata_IsTimerOnScheduleSetting()
    {
        // Act
        var trigger = Trigger("CountLedger");

        // Assert
        Assert.Equal("timerTrigger", (string?)trigger["type"]);
        Assert.Equal("%LedgerCensusSchedule%", (string?)trigger["schedule"]);
    }
}
