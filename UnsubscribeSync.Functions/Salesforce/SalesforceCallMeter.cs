namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// Counts the HTTP requests made to Salesforce (API calls, token requests, describes and every retry) within a
/// scope that flows with the async call, so a sync batch knows its own spend without counting by hand.
/// The count is taken by <see cref="SalesforceLimitInfoHandler"/>, which sees every attempt.
/// </summary>
public static class SalesforceCallMeter
{
    private static readonly AsyncLocal<Counter?> CurrentCounter = new();

    /// <summary>Starts counting for the current async flow until the scope is disposed; scopes may nest (an inner one counts for itself only).</summary>
    public static Scope Start()
    {
        var previous = CurrentCounter.Value;
        var counter = new Counter();
        CurrentCounter.Value = counter;
        return new Scope(counter, previous);
    }

    internal static void Count() => CurrentCounter.Value?.Increment();

    /// <summary>An open count.</summary>
    public sealed class Scope : IDisposable
    {
        private readonly Counter _counter;
        private readonly Counter? _previous;

        internal Scope(Counter counter, Counter? previous)
        {
            _counter = counter;
            _previous = previous;
        }

        /// <summary>Requests made to Salesforce in this scope so far.</summary>
        public int Calls => _counter.Value;

        public void Dispose()
        {
            _previous?.Add(_counter.Value);
            CurrentCounter.Value = _previous;
        }
    }

    internal sealed class Counter
    {
        private int _value;

        public int Value => Volatile.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);

        public void Add(int count) => Interlocked.Add(ref _value, count);
    }
}
