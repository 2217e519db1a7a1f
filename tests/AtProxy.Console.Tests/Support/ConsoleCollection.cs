namespace AtProxy.Console.Tests.Support;

/// <summary>
/// Every console test shares one coordinator, one database and one browser, and runs one at a time:
/// starting them is most of the suite's time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ConsoleCollection : ICollectionFixture<ConsoleEnvironment>
{
    public const string Name = "console";
}
