using Microsoft.Extensions.Time.Testing;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceApiUsageTests
{
    [Theory]
    [InlineData("api-usage=18/5000", 18, 5000)]
    [InlineData("api-usage=10018/100000; api-bursts=1/750", 10018, 100000)]
    [InlineData("api-usage=110018/100000; api-bursts=1/750", 110018, 100000)]
    [InlineData("per-app-api-usage=17/250(appName=sample-app); api-usage=25/5000", 25, 5000)]
    public void TryParse_HeaderForms_ReadsUsedAndLimit(string header, long used, long limit)
    {
        // Arrange
        // Act
        var parsed = SalesforceApiUsage.TryParse(header, out var actualUsed, out var actualLimit);

        // Assert
        Assert.True(parsed);
        Assert.Equal(used, actualUsed);
        Assert.Equal(limit, actualLimit);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("per-app-api-usage=17/250(appName=sample-app)")]
    [InlineData("api-usage=abc/5000")]
    [InlineData("api-usage=99999999999999999999999/5")]
    public void TryParse_NoUsablePart_ReturnsFalse(string? header)
    {
        // Arrange
        // Act
        var parsed = SalesforceApiUsage.TryParse(header, out _, out _);

        // Assert
        Assert.False(parsed);
    }

    [Fact]
    public void Record_Reading_ExposesLatestWithObservedTimeAndFraction()
    {
        // Arrange
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 4, 0, 0, TimeSpan.Zero));
        var usage = new SalesforceApiUsage(time);

        // Act
        usage.Record(3750, 5000);

        // Assert
        Assert.Equal(new ApiUsageSnapshot(3750, 5000, time.GetUtcNow()), usage.Latest);
        Assert.Equal(0.75, usage.Fraction);
    }

    [Fact]
    public void Latest_BeforeAnyResponse_IsNull()
    {
        // Arrange
        var usage = new SalesforceApiUsage(new FakeTimeProvider());

        // Act
        var latest = usage.Latest;

        // Assert
        Assert.Null(latest);
        Assert.Null(usage.Fraction);
    }
}
