namespace AtProxy.Hosting;

/// <summary>
/// Finds the built coordinator (<c>AtProxy.Coordinator.dll</c>). A project that references
/// <c>src/AtProxy.Coordinator</c> (the demo, the tests, the benchmarks) gets it copied next to its
/// own assembly, so that is where it is looked for first; then in the repository's
/// <c>src/AtProxy.Coordinator/bin</c>.
/// </summary>
public static class CoordinatorBinary
{
    /// <summary>The environment variable that names the DLL to use instead.</summary>
    public const string OverrideVariable = "ATPROXY_COORDINATOR_DLL";

    /// <summary>The coordinator's file name.</summary>
    public const string FileName = "AtProxy.Coordinator.dll";

    /// <summary>The path of the coordinator's DLL; throws with what to build when there is none.</summary>
    public static string Find() => BuiltProgram.Find("AtProxy.Coordinator", OverrideVariable);
}
