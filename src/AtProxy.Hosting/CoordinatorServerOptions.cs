namespace AtProxy.Hosting;

/// <summary>How <see cref="CoordinatorServer"/> starts the coordinator.</summary>
public class CoordinatorServerOptions
{
    /// <summary>
    /// "embedded" (default, durable under <see cref="DataDirectory"/>), "memory", or "postgres"
    /// (with <c>["Coordinator:StoreConnection"]</c> in <see cref="Settings"/>; several processes may share one).
    /// </summary>
    public string Store { get; set; } = "embedded";

    /// <summary>The data directory; null for a new temporary one that is deleted on dispose.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// Further coordinator settings by configuration key, e.g.
    /// <c>["Coordinator:RetryInitialDelayMs"] = "50"</c> or <c>["Coordinator:AdminToken"] = "secret"</c>.
    /// </summary>
    public IDictionary<string, string> Settings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Environment variables for the coordinator process, e.g. <c>["ATPROXY_Coordinator__NodeId"] = "tc-2"</c>.</summary>
    public IDictionary<string, string> Environment { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How long to wait for the coordinator to serve before failing with its output.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The coordinator's DLL; null to find it (see <see cref="CoordinatorBinary.Find"/>).</summary>
    public string? CoordinatorDll { get; set; }

    /// <summary>
    /// A coordinator installed as a program of its own (the <c>atproxy-coordinator</c> .NET tool),
    /// run directly instead of <c>dotnet</c> with <see cref="CoordinatorDll"/>; null for the DLL.
    /// </summary>
    public string? Executable { get; set; }

    /// <summary>More command-line arguments, passed as they are after the ones the server sets (e.g. <c>--Coordinator:AdminToken</c>, <c>secret</c>).</summary>
    public IList<string> Arguments { get; } = [];
}
