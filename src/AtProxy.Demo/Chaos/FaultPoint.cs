namespace AtProxy.Demo.Chaos;

/// <summary>
/// Where a run's fault strikes: a named point of the protocol (the process kills itself there, see
/// <c>ATPROXY_CRASH_AT</c> in docs/DESIGN.md), or a kill at a random moment.
/// </summary>
/// <param name="Name">The point's name, as <c>ATPROXY_CRASH_AT</c> takes it; <see cref="RandomKill"/> for no point.</param>
/// <param name="Targets">The processes that reach the point; a run picks one.</param>
/// <param name="MaxHit">A run crashes at the n-th time the point is reached, n from <paramref name="MinHit"/> to this (points reached rarely get a small bound).</param>
/// <param name="OnlyStore">The one store that reaches it; null when both do.</param>
/// <param name="MinHit">The smallest n (points the processes also reach while a run sets up start later, so the fault strikes under load).</param>
internal sealed record FaultPoint(string Name, IReadOnlyList<FaultTarget> Targets, int MaxHit, StoreKind? OnlyStore = null, int MinHit = 1)
{
    /// <summary>The name of the kill at a random moment (no protocol point).</summary>
    public const string RandomKill = "random-kill";

    private static readonly FaultTarget[] Services = [FaultTarget.OrderService, FaultTarget.InventoryService];

    /// <summary>Every fault a campaign chooses from, in the order of its table.</summary>
    public static IReadOnlyList<FaultPoint> All { get; } =
    [
        new("proxy.after-branch-registered", Services, 40),
        new("proxy.after-local-commit", Services, 40),
        // Only the inventory's branches are rolled back in phase 2: a failed order never commits its own.
        new("proxy.rollback-before-commit", [FaultTarget.InventoryService], 6),
        new("proxy.before-undo-delete", Services, 15),
        new("coordinator.commit-decided", [FaultTarget.Coordinator], 25),
        new("coordinator.commit-commands-sent", [FaultTarget.Coordinator], 25),
        new("coordinator.rollback-command-sent", [FaultTarget.Coordinator], 6),
        new("coordinator.compaction-switched", [FaultTarget.Coordinator], 2, OnlyStore: StoreKind.Embedded),
        // The shared store also writes batches while a run sets up (about ten): strike after them.
        new("coordinator.store-batch-committed", [FaultTarget.Coordinator], 90, OnlyStore: StoreKind.Postgres, MinHit: 25),
        new(RandomKill, [FaultTarget.OrderService, FaultTarget.InventoryService, FaultTarget.Coordinator], 1),
    ];

    /// <summary>Whether a run on <paramref name="store"/> reaches this fault.</summary>
    public bool Reaches(StoreKind store) => OnlyStore is null || OnlyStore == store;

    /// <summary>True for a kill at a random moment rather than at a point.</summary>
    public bool IsRandomKill => Name == RandomKill;

    /// <summary>The point named <paramref name="name"/>; an unknown name is refused with the known ones.</summary>
    public static FaultPoint Named(string name) =>
        All.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"Unknown fault point '{name}'. Known: {string.Join(", ", All.Select(p => p.Name))}.");
}
