namespace AtProxy.Testing;

/// <summary>
/// Waits for a condition that becomes true asynchronously (phase 2, a purge, a status change), and
/// fails with what was awaited when it does not come in time. The only way tests wait for
/// something to happen: a sleep followed by an assertion is never used instead.
/// </summary>
public static class Eventually
{
    /// <summary>How long a wait lasts when the test does not say: long enough for a loaded machine.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>Waits until <paramref name="condition"/> is true; fails naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout, Func<Task<string>> what)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new ConditionFailedException($"Timed out after {limit.TotalSeconds:0.#} s waiting for {await what()}.");
            }
            await Task.Delay(PollInterval);
        }
    }

    /// <inheritdoc cref="TrueAsync(Func{Task{bool}}, TimeSpan?, Func{Task{string}})"/>
    public static Task TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout, string what) =>
        TrueAsync(condition, timeout, () => Task.FromResult(what));

    /// <inheritdoc cref="TrueAsync(Func{Task{bool}}, TimeSpan?, Func{Task{string}})"/>
    public static Task TrueAsync(Func<bool> condition, TimeSpan? timeout, string what) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, () => Task.FromResult(what));

    /// <summary>
    /// Waits until <paramref name="actual"/> returns <paramref name="expected"/> and returns it; fails
    /// naming <paramref name="what"/> and the last value seen after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<T> EqualAsync<T>(T expected, Func<Task<T>> actual, TimeSpan? timeout, string what)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var value = await actual();
            if (EqualityComparer<T>.Default.Equals(value, expected))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new ConditionFailedException($"Timed out after {limit.TotalSeconds:0.#} s waiting for {what} to be {expected}; it is {value}.");
            }
            await Task.Delay(PollInterval);
        }
    }
}
