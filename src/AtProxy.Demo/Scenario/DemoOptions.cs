namespace AtProxy.Demo.Scenario;

/// <summary>What the demo run does, from its command line.</summary>
/// <param name="Orders">How many orders to place.</param>
/// <param name="Concurrency">How many orders may be in flight at once.</param>
/// <param name="OrdersPerSecond">The pace at which orders arrive.</param>
/// <param name="UseAtProxy">False runs both services on plain local transactions.</param>
/// <param name="Seed">Seeds the choice of SKUs and faults, so a run can be repeated.</param>
/// <param name="ReportPath">Where to write the run's outcome and consistency check as JSON; null for none.</param>
internal sealed record DemoOptions(int Orders, int Concurrency, double OrdersPerSecond, bool UseAtProxy, int Seed, string? ReportPath);
