namespace AtProxy.Demo.Tests;

/// <summary>Demo runs keep two cores busy each: the classes that start one run one after the other.</summary>
[CollectionDefinition(Name)]
public sealed class DemoRuns
{
    public const string Name = "Demo runs";
}
