using UnsubscribeSync.Functions.Ledger;

namespace UnsubscribeSync.Functions.Intake;

/// <summary>
/// The outcome of parsing a webhook body. A structural problem of the request as a whole (not JSON,
/// not an object, too many events) fills <see cref="RequestErrors"/> and nothing else. Otherwise each
/// event is either recorded (<see cref="Events"/>, perhaps with <see cref="Warnings"/> about optional
/// fields that were dropped, clipped or repaired) or rejected on its own (<see cref="Rejected"/>).
/// </summary>
public sealed record ParseResult(
    IReadOnlyList<ConsentEvent> Events,
    IReadOnlyList<EventRejection> Rejected,
    IReadOnlyList<EventWarning> Warnings,
    IReadOnlyDictionary<string, string[]> RequestErrors)
{
    /// <summary>Every problem that kept something from being recorded, by field path (<c>unsubscribes[3].email</c>).</summary>
    public IReadOnlyDictionary<string, string[]> Errors =>
        RequestErrors.Concat(Rejected.SelectMany(r => r.Errors)).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);

    /// <summary>Whether every event can be recorded as sent, apart from warnings.</summary>
    public bool IsValid => RequestErrors.Count == 0 && Rejected.Count == 0;

    /// <summary>A problem with the request as a whole: nothing in it is recorded.</summary>
    public static ParseResult RequestError(string field, string message) =>
        new([], [], [], new Dictionary<string, string[]>(StringComparer.Ordinal) { [field] = [message] });
}

/// <summary>An event that is not recorded because its id or email is unusable (or it is not an object).</summary>
/// <param name="Index">Its position in <c>unsubscribes</c> (0 for a single-event body).</param>
/// <param name="Id">Its id when that is valid, so the sender can find it.</param>
/// <param name="Errors">Every bad field of the event by path, with what is wrong.</param>
public sealed record EventRejection(int Index, string? Id, IReadOnlyDictionary<string, string[]> Errors);

/// <summary>An optional field of a recorded event that was dropped, clipped or repaired.</summary>
/// <param name="Index">The event's position in <c>unsubscribes</c> (0 for a single-event body).</param>
/// <param name="Id">The event's id.</param>
/// <param name="Field">The field's path, as in a problem's <c>errors</c> map.</param>
/// <param name="Message">What was wrong and what was done about it.</param>
public sealed record EventWarning(int Index, string Id, string Field, string Message);
