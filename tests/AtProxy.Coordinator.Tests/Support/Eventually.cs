namespace AtProxy.Coordinator.Tests.Support;

/// <summary>Waits for a condition that becomes true asynchronously, failing with what was awaited.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string what = "the condition")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }
            await Task.Delay(10);
        }
    }

    public static async Task<T> EqualAsync<T>(T expected, Func<Task<T>> actual, TimeSpan? timeout = null, string what = "the value")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var value = await actual();
            if (EqualityComparer<T>.Default.Equals(value, expected))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what} to be {expected}; it is {value}.");
            }
            await Task.Delay(10);
        }
    }
}
