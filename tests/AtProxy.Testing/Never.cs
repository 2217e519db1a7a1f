namespace AtProxy.Testing;

/// <summary>
/// A bounded negative check: asserts that something does not happen during a stated time. Only for
/// what no signal can rule out (a retry that must not be sent, a command that must not arrive),
/// and only after everything that would make it happen had its chance: the check can prove that
/// it did not happen within the duration, never that it cannot happen later. Whatever can be
/// awaited (a waiter shown waiting, a status reached) is awaited instead, with <see cref="Eventually"/>.
/// </summary>
public static class Never
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Fails as soon as <paramref name="condition"/> becomes true within <paramref name="duration"/>,
    /// with <paramref name="what"/> (what must not happen) and <paramref name="because"/> (why).
    /// </summary>
    public static async Task WithinAsync(Func<Task<bool>> condition, TimeSpan duration, string what, string because)
    {
        var deadline = DateTime.UtcNow + duration;
        do
        {
            if (await condition())
            {
                throw new ConditionFailedException($"{what} happened within {duration.TotalMilliseconds:0} ms; it must not, because {because}.");
            }
            await Task.Delay(PollInterval);
        }
        while (DateTime.UtcNow <= deadline);
        // The last look, at or after the end of the duration.
        if (await condition())
        {
            throw new ConditionFailedException($"{what} happened within {duration.TotalMilliseconds:0} ms; it must not, because {because}.");
        }
    }

    /// <inheritdoc cref="WithinAsync(Func{Task{bool}}, TimeSpan, string, string)"/>
    public static Task WithinAsync(Func<bool> condition, TimeSpan duration, string what, string because) =>
        WithinAsync(() => Task.FromResult(condition()), duration, what, because);
}
