using UnsubscribeSync.Functions.Shared;

namespace UnsubscribeSync.Functions.Salesforce;

/// <summary>
/// The Salesforce REST calls the sync makes. Every failure is a <see cref="SalesforceApiException"/>
/// whose <see cref="SalesforceApiException.Kind"/> says whether to retry, stop, redirect or fix configuration;
/// transient faults have already been retried when it is thrown.
/// </summary>
public interface ISalesforceClient
{
    /// <summary>Writes fields on one record (<c>PATCH sobjects/{type}/{id}</c>).</summary>
    Task UpdateRecordAsync(SalesforceId id, IReadOnlyDictionary<string, object?> fields, CancellationToken cancellationToken);

    /// <summary>
    /// Writes up to 200 records in one sObject Collections call with <c>allOrNone=false</c>. Results
    /// come back in the order given; a failed record does not fail the others.
    /// </summary>
    /// <exception cref="ArgumentException">More than 200 records.</exception>
    Task<IReadOnlyList<RecordResult>> UpdateRecordsAsync(IReadOnlyList<SalesforceRecordUpdate> records, CancellationToken cancellationToken);

    /// <summary>Runs a SOQL query and yields every record, following <c>nextRecordsUrl</c> page by page.</summary>
    IAsyncEnumerable<T> QueryAsync<T>(string soql, CancellationToken cancellationToken);

    /// <summary>Like <see cref="QueryAsync{T}"/>, but includes deleted and merged-away records still in the Recycle Bin.</summary>
    IAsyncEnumerable<T> QueryAllAsync<T>(string soql, CancellationToken cancellationToken);

    /// <summary>Describes an sObject's fields as the integration user sees them.</summary>
    Task<SObjectDescription> DescribeAsync(string sObjectName, CancellationToken cancellationToken);

    /// <summary>
    /// Describes an sObject only if its metadata changed after <paramref name="since"/> (<c>If-Modified-Since</c>);
    /// null when Salesforce answers 304 Not Modified. Still one API call either way.
    /// </summary>
    Task<SObjectDescription?> DescribeIfModifiedAsync(string sObjectName, DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>Reads the org's limits, including <c>DailyApiRequests</c>. Costs an API call; use sparingly.</summary>
    Task<SalesforceLimits> GetLimitsAsync(CancellationToken cancellationToken);
}
