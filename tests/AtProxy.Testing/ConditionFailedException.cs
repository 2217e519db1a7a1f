namespace AtProxy.Testing;

/// <summary>
/// A check of the shared test support failed (a wait that did not come, something that must never
/// happen did, an invariant broke). xunit reports it as the test's failure, with this message.
/// </summary>
public sealed class ConditionFailedException(string message) : Exception(message);
