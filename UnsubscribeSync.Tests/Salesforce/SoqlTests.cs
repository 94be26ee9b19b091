using UnsubscribeSync.Functions.Salesforce;
using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Tests.Salesforce;

public class SoqlTests
{
    [Theory]
    [InlineData("plain@example.com", "plain@example.com")]
    [InlineData("o'brien@example.com", @"o\'brien@example.com")]
    [InlineData(@"back\slash", @"back\\slash")]
    [InlineData(@"\'", @"\\\'")]
    [InlineData("say \"hi\"", "say \\\"hi\\\"")]
    [InlineData("a\nb\rc\td\be\ff", @"a\nb\rc\td\be\ff")]
    public void Escape_ReservedCharacters_AreEscapedBackslashFirst(string input, string expected)
    {
        // Arrange
        // Act
        var escaped = Soql.Escape(input);

        // Assert
        Assert.Equal(expected, escaped);
    }

    [Fact]
    public void Quote_InjectionAttempt_StaysInsideTheLiteral()
    {
        // Arrange
        const string hostile = @"x\' OR Name != '";

        // Act
        var literal = Soql.Quote(hostile);

        // Assert
        Assert.Equal(@"'x\\\' OR Name != \''", literal);
    }

    [Fact]
    public void InList_Strings_QuotesAndJoins()
    {
        // Arrange
        string[] emails = ["a@example.com", "o'brien@example.com"];

        // Act
        var list = Soql.InList(emails);

        // Assert
        Assert.Equal(@"('a@example.com','o\'brien@example.com')", list);
    }

    [Fact]
    public void InList_Ids_UsesEighteenCharacterForm()
    {
        // Arrange
        var ids = new[] { SalesforceId.Parse("003RO0000035WQg"), SalesforceId.Parse("003xx000004TmiQ") };

        // Act
        var list = Soql.InList(ids);

        // Assert
        Assert.Equal("('003RO0000035WQgYAM','003xx000004TmiQAAS')", list);
    }

    [Fact]
    public void InList_Empty_Throws()
    {
        // Arrange
        // Act
        // Assert
        Assert.Throws<ArgumentException>(() => Soql.InList(Array.Empty<string>()));
    }

    [Fact]
    public void DateTimeLiteral_OffsetAndFraction_UtcWithoutFractionUnquoted()
    {
        // Arrange
        var value = new DateTimeOffset(2024, 3, 10, 20, 15, 30, 789, TimeSpan.FromHours(-8));

        // Act
        var literal = Soql.DateTimeLiteral(value);

        // Assert
        Assert.Equal("2024-03-11T04:15:30Z", literal);
    }
}
