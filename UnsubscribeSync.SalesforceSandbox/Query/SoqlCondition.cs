using System.Text;
using System.Text.RegularExpressions;
using UnsubscribeSync.SalesforceSandbox.Model;

namespace UnsubscribeSync.SalesforceSandbox.Query;

/// <summary>A WHERE clause node, evaluated against one stored row.</summary>
public abstract record SoqlCondition
{
    public abstract bool Evaluate(StoredRecord record);
}

/// <summary>All of the parts hold.</summary>
public sealed record AndCondition(IReadOnlyList<SoqlCondition> Parts) : SoqlCondition
{
    public override bool Evaluate(StoredRecord record) => Parts.All(p => p.Evaluate(record));
}

/// <summary>Any of the parts holds.</summary>
public sealed record OrCondition(IReadOnlyList<SoqlCondition> Parts) : SoqlCondition
{
    public override bool Evaluate(StoredRecord record) => Parts.Any(p => p.Evaluate(record));
}

/// <summary>The inner condition does not hold.</summary>
public sealed record NotCondition(SoqlCondition Inner) : SoqlCondition
{
    public override bool Evaluate(StoredRecord record) => !Inner.Evaluate(record);
}

/// <summary><c>field op literal</c> with SOQL's null rules: only = and != match nulls.</summary>
public sealed record ComparisonCondition(FieldDefinition Field, string Operator, object? Value) : SoqlCondition
{
    public override bool Evaluate(StoredRecord record)
    {
        var actual = record.Get(Field.StorageKey);
        return Operator switch
        {
            "=" => SoqlValues.Equal(actual, Value),
            "!=" => !SoqlValues.Equal(actual, Value),
            _ when actual is null || Value is null => false,
            "<" => SoqlValues.Compare(actual, Value) < 0,
            "<=" => SoqlValues.Compare(actual, Value) <= 0,
            ">" => SoqlValues.Compare(actual, Value) > 0,
            _ => SoqlValues.Compare(actual, Value) >= 0,
        };
    }
}

/// <summary><c>field [NOT] IN (literals)</c>.</summary>
public sealed record InCondition(FieldDefinition Field, IReadOnlyList<object?> Values, bool Negated) : SoqlCondition
{
    public override bool Evaluate(StoredRecord record)
    {
        var actual = record.Get(Field.StorageKey);
        return Values.Any(v => SoqlValues.Equal(actual, v)) != Negated;
    }
}

/// <summary><c>field LIKE 'pattern'</c>, case-insensitive, % and _ wildcards.</summary>
public sealed record LikeCondition(FieldDefinition Field, Regex Pattern) : SoqlCondition
{
    public override bool Evaluate(StoredRecord record) =>
        record.Get(Field.StorageKey) is string text && Pattern.IsMatch(text);

    public static Regex ToRegex(string decodedPattern)
    {
        var builder = new StringBuilder("^");
        for (var i = 0; i < decodedPattern.Length; i++)
        {
            var c = decodedPattern[i];
            if (c == '\\' && i + 1 < decodedPattern.Length)
            {
                builder.Append(Regex.Escape(decodedPattern[++i].ToString()));
            }
            else
            {
                builder.Append(c switch { '%' => ".*", '_' => ".", _ => Regex.Escape(c.ToString()) });
            }
        }

        return new Regex(builder.Append('$').ToString(), RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant);
    }
}

/// <summary>SOQL value semantics: text compares case-insensitively, false sorts before true.</summary>
public static class SoqlValues
{
    public static bool Equal(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (string x, string y) => string.Equals(x, y, StringComparison.OrdinalIgnoreCase),
        _ => a.Equals(b),
    };

    /// <summary>Orders values with nulls first.</summary>
    public static int Compare(object? a, object? b) => (a, b) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        (string x, string y) => string.Compare(x, y, StringComparison.OrdinalIgnoreCase),
        (bool x, bool y) => x.CompareTo(y),
        (DateTimeOffset x, DateTimeOffset y) => x.CompareTo(y),
        _ => string.CompareOrdinal(a.ToString(), b.ToString()),
    };
}
