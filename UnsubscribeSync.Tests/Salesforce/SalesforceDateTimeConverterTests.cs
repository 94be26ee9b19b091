using System.Text.Json;
using UnsubscribeSync.Functions.Salesforce;

namespace UnsubscribeSync.Tests.Salesforce;

public class SalesforceDateTimeConverterTests
{
    private sealed record Row(DateTimeOffset SystemModstamp, DateTimeOffset? ConvertedDate);

    [Theory]
    [InlineData("2013-05-08T21:20:00.000+0000")]
    [InlineData("2013-05-08T21:20:00Z")]
    [InlineData("2013-05-08T21:20:00+00:00")]
    [InlineData("2013-05-08T13:20:00.000-0800")]
    public void Read_SalesforceAndIsoForms_ParsesToSameInstant(string text)
    {
        // Arrange
        var json = $$"""{"SystemModstamp":"{{text}}","ConvertedDate":null}""";

        // Act
        var row = JsonSerializer.Deserialize<Row>(json, SalesforceJson.Options)!;

        // Assert
        Assert.Equal(new DateTimeOffset(2013, 5, 8, 21, 20, 0, TimeSpan.Zero), row.SystemModstamp);
        Assert.Null(row.ConvertedDate);
    }

    [Fact]
    public void Read_Nullable_UsesConverter()
    {
        // Arrange
        const string json = """{"SystemModstamp":"2024-01-01T00:00:00.000+0000","ConvertedDate":"2024-01-02T03:04:05.000+0000"}""";

        // Act
        var row = JsonSerializer.Deserialize<Row>(json, SalesforceJson.Options)!;

        // Assert
        Assert.Equal(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), row.ConvertedDate);
    }

    [Fact]
    public void Write_AnyOffset_WritesUtcWithPlusZeroZeroZeroZero()
    {
        // Arrange
        var value = new DateTimeOffset(2024, 1, 1, 1, 2, 3, 456, TimeSpan.FromHours(2));

        // Act
        var json = JsonSerializer.Serialize(value, SalesforceJson.Options);

        // Assert
        Assert.Equal("\"2023-12-31T23:02:03.456+0000\"", json);
    }

    [Fact]
    public void Read_NotADate_ThrowsJsonException()
    {
        // Arrange
        const string json = """{"SystemModstamp":"yesterday","ConvertedDate":null}""";

        // Act
        // Assert
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Row>(json, SalesforceJson.Options));
    }
}
