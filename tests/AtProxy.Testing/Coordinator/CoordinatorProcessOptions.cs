using AtProxy.Hosting;

namespace AtProxy.Testing.Coordinator;

/// <summary>
/// How <see cref="CoordinatorProcess"/> starts the coordinator: store, data directory, settings,
/// environment and start timeout, as <see cref="CoordinatorServerOptions"/> defines them.
/// </summary>
public sealed class CoordinatorProcessOptions : CoordinatorServerOptions;
