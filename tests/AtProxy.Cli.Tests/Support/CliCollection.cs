namespace AtProxy.Cli.Tests.Support;

/// <summary>
/// Every CLI test shares one coordinator and one database, and runs one at a time: the tests read
/// the coordinator's global lists, and one coordinator start is most of the suite's time budget.
/// </summary>
[CollectionDefinition(Name)]
public sealed class CliCollection : ICollectionFixture<CliEnvironment>
{
    public const string Name = "cli";
}
