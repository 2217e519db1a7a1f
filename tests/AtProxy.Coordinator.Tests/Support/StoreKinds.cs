namespace AtProxy.Coordinator.Tests.Support;

/// <summary>
/// The stores the coordinator suite runs against: each test that starts a coordinator is a
/// theory over these, so every store passes the same tests. "postgres" runs on a database of
/// the test's own on the shared real PostgreSQL server.
/// </summary>
public static class StoreKinds
{
    public static readonly string[] Names = ["memory", "embedded", "postgres"];

    public static TheoryData<string> All
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var name in Names)
            {
                data.Add(name);
            }
            return data;
        }
    }

    /// <summary>Every store with every value of <paramref name="values"/>.</summary>
    public static TheoryData<string, T> With<T>(IEnumerable<T> values)
    {
        var data = new TheoryData<string, T>();
        foreach (var name in Names)
        {
            foreach (var value in values)
            {
                data.Add(name, value);
            }
        }
        return data;
    }
}
