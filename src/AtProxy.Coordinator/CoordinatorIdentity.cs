using System.Reflection;

namespace AtProxy.Coordinator;

/// <summary>What this coordinator process reports about itself: version and start time.</summary>
internal sealed class CoordinatorIdentity(TimeProvider time)
{
    public string Version { get; } =
        typeof(CoordinatorIdentity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public long StartedUnixMs { get; } = time.GetUtcNow().ToUnixTimeMilliseconds();
}
