using System.Globalization;
using UnsubscribeSync.SalesforceSandbox.Model;
using UnsubscribeSync.SalesforceSandbox.Options;

namespace UnsubscribeSync.SalesforceSandbox.Query;

/// <summary>A parsed query of the supported subset.</summary>
public sealed record SoqlQuery(
    ObjectSchema Schema,
    IReadOnlyList<FieldDefinition> Fields,
    bool IsCount,
    SoqlCondition? Where,
    FieldDefinition? OrderBy,
    bool Descending,
    bool NullsLast,
    int? Limit,
    int? Offset);

/// <summary>
/// Parses <c>SELECT fields|COUNT() FROM Contact|Lead [WHERE …] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST]]
/// [LIMIT n] [OFFSET n]</c>. Like real SOQL, AND and OR may not be mixed without parentheses.
/// </summary>
public sealed class SoqlParser
{
    private readonly List<SoqlToken> _tokens;
    private readonly SandboxSettings _settings;
    private int _position;
    private ObjectSchema _schema = null!;

    private SoqlParser(string soql, SandboxSettings settings)
    {
        _tokens = SoqlTokenizer.Tokenize(soql);
        _settings = settings;
    }

    private SoqlToken Current => _tokens[_position];

    public static SoqlQuery Parse(string soql, SandboxSettings settings) => new SoqlParser(soql, settings).ParseQuery();

    private SoqlQuery ParseQuery()
    {
        Expect("SELECT");
        var names = new List<SoqlToken>();
        var isCount = false;
        if (Current.IsKeyword("COUNT") && _tokens[_position + 1].IsSymbol("("))
        {
            _position++;
            ExpectSymbol("(");
            ExpectSymbol(")");
            isCount = true;
        }
        else
        {
            do
            {
                names.Add(ExpectIdentifier());
            }
            while (TrySymbol(","));
        }

        Expect("FROM");
        var objectToken = ExpectIdentifier();
        var type = ObjectSchema.CanonicalType(objectToken.Text)
            ?? throw new SoqlException(new SalesforceError(400, "INVALID_TYPE", $"sObject type '{objectToken.Text}' is not supported."));
        _schema = ObjectSchema.For(type, _settings);

        var fields = new List<FieldDefinition>();
        foreach (var name in names)
        {
            var field = Resolve(name);
            if (fields.Contains(field))
            {
                throw new SoqlException(SalesforceError.MalformedQuery($"duplicate field selected: {field.Name}"));
            }

            fields.Add(field);
        }

        SoqlCondition? where = null;
        if (TryKeyword("WHERE"))
        {
            where = ParseOr();
        }

        FieldDefinition? orderBy = null;
        var descending = false;
        var nullsLast = false;
        if (TryKeyword("ORDER"))
        {
            Expect("BY");
            orderBy = Resolve(ExpectIdentifier());
            if (TryKeyword("DESC"))
            {
                descending = true;
            }
            else
            {
                TryKeyword("ASC");
            }

            // Salesforce puts nulls first for ASC and last for DESC unless told otherwise.
            nullsLast = descending;
            if (TryKeyword("NULLS"))
            {
                if (TryKeyword("LAST"))
                {
                    nullsLast = true;
                }
                else
                {
                    Expect("FIRST");
                    nullsLast = false;
                }
            }
        }

        int? limit = TryKeyword("LIMIT") ? ExpectCount() : null;
        int? offset = TryKeyword("OFFSET") ? ExpectCount() : null;
        if (Current.Kind != SoqlTokenKind.End)
        {
            throw Unexpected();
        }

        return new SoqlQuery(_schema, fields, isCount, where, orderBy, descending, nullsLast, limit, offset);
    }

    private SoqlCondition ParseOr()
    {
        var first = ParseUnary();
        if (Current.IsKeyword("AND"))
        {
            var parts = new List<SoqlCondition> { first };
            while (TryKeyword("AND"))
            {
                parts.Add(ParseUnary());
            }

            // SOQL refuses "a AND b OR c": the grouping has to be spelled out.
            return Current.IsKeyword("OR") ? throw Unexpected() : new AndCondition(parts);
        }

        if (Current.IsKeyword("OR"))
        {
            var parts = new List<SoqlCondition> { first };
            while (TryKeyword("OR"))
            {
                parts.Add(ParseUnary());
            }

            return Current.IsKeyword("AND") ? throw Unexpected() : new OrCondition(parts);
        }

        return first;
    }

    private SoqlCondition ParseUnary()
    {
        if (TryKeyword("NOT"))
        {
            return new NotCondition(ParseUnary());
        }

        if (TrySymbol("("))
        {
            var inner = ParseOr();
            ExpectSymbol(")");
            return inner;
        }

        var field = Resolve(ExpectIdentifier());
        if (TryKeyword("NOT"))
        {
            Expect("IN");
            return new InCondition(field, ParseList(field), Negated: true);
        }

        if (TryKeyword("IN"))
        {
            return new InCondition(field, ParseList(field), Negated: false);
        }

        if (TryKeyword("LIKE"))
        {
            var pattern = Current;
            if (pattern.Kind != SoqlTokenKind.String || field.Kind is not (FieldKind.String or FieldKind.Email))
            {
                throw new SoqlException(new SalesforceError(400, "INVALID_FIELD", $"invalid operator on field: {field.Name}"));
            }

            _position++;
            return new LikeCondition(field, LikeCondition.ToRegex(SoqlTokenizer.DecodeString(pattern.Text, likePattern: true)));
        }

        if (Current.Kind != SoqlTokenKind.Symbol || Current.Text is "(" or ")" or ",")
        {
            throw Unexpected();
        }

        var op = Current.Text;
        _position++;
        return new ComparisonCondition(field, op, ParseLiteral(field));
    }

    private List<object?> ParseList(FieldDefinition field)
    {
        ExpectSymbol("(");
        var values = new List<object?>();
        do
        {
            values.Add(ParseLiteral(field));
        }
        while (TrySymbol(","));

        ExpectSymbol(")");
        return values;
    }

    private object? ParseLiteral(FieldDefinition field)
    {
        var token = Current;
        _position++;
        if (token.IsKeyword("null"))
        {
            return null;
        }

        switch (field.Kind)
        {
            case FieldKind.Boolean when token.IsKeyword("true") || token.IsKeyword("false"):
                return token.IsKeyword("true");
            case FieldKind.DateTime when token.Kind == SoqlTokenKind.DateTime:
                return DateTimeOffset.Parse(token.Text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
            case FieldKind.String or FieldKind.Email when token.Kind == SoqlTokenKind.String:
                return SoqlTokenizer.DecodeString(token.Text, likePattern: false);
            case FieldKind.Id or FieldKind.Reference when token.Kind == SoqlTokenKind.String:
                var text = SoqlTokenizer.DecodeString(token.Text, likePattern: false);
                return SandboxIds.TryNormalize(text, out var id18)
                    ? id18
                    : throw new SoqlException(new SalesforceError(400, "INVALID_QUERY_FILTER_OPERATOR", $"invalid ID field: {text}"));
        }

        if (token.Kind is SoqlTokenKind.String or SoqlTokenKind.DateTime or SoqlTokenKind.Date or SoqlTokenKind.Number
            || token.IsKeyword("true") || token.IsKeyword("false"))
        {
            var quoted = token.Kind == SoqlTokenKind.String ? "should be enclosed in quotes" : "should not be enclosed in quotes";
            throw new SoqlException(new SalesforceError(400, "INVALID_FIELD",
                $"value of filter criterion for field '{field.Name}' must be of type {field.TypeName} and {(field.Kind is FieldKind.Boolean or FieldKind.DateTime ? "should not be enclosed in quotes" : quoted)}"));
        }

        _position--;
        throw Unexpected();
    }

    private FieldDefinition Resolve(SoqlToken name) =>
        _schema.Find(name.Text) ?? throw new SoqlException(new SalesforceError(400, "INVALID_FIELD",
            $"No such column '{name.Text}' on entity '{_schema.Name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."));

    private int ExpectCount()
    {
        var token = Current;
        if (token.Kind != SoqlTokenKind.Number || !int.TryParse(token.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw Unexpected();
        }

        _position++;
        return value;
    }

    private SoqlToken ExpectIdentifier()
    {
        var token = Current;
        if (token.Kind != SoqlTokenKind.Identifier)
        {
            throw Unexpected();
        }

        _position++;
        return token;
    }

    private void Expect(string keyword)
    {
        if (!TryKeyword(keyword))
        {
            throw Unexpected();
        }
    }

    private void ExpectSymbol(string symbol)
    {
        if (!TrySymbol(symbol))
        {
            throw Unexpected();
        }
    }

    private bool TryKeyword(string keyword)
    {
        if (!Current.IsKeyword(keyword))
        {
            return false;
        }

        _position++;
        return true;
    }

    private bool TrySymbol(string symbol)
    {
        if (!Current.IsSymbol(symbol))
        {
            return false;
        }

        _position++;
        return true;
    }

    private SoqlException Unexpected() => new(SalesforceError.MalformedQuery(
        Current.Kind == SoqlTokenKind.End ? "unexpected end of query" : $"unexpected token: '{Current.Text}'"));
}
