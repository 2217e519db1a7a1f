namespace AtProxy.Demo.Chaos;

/// <summary>
/// Everything chosen for one run, from its seed alone: the store, the fault, its target and moment,
/// and the orders. The same seed gives the same plan (the timing of the processes still varies).
/// </summary>
/// <param name="Seed">The run's seed: <c>chaos --runs 1 --seed</c> with it plans this run again.</param>
/// <param name="Store">The coordinators.</param>
/// <param name="Fault">Where the fault strikes.</param>
/// <param name="Target">Which process it kills.</param>
/// <param name="Hit">The n-th time the point is reached (a point fault).</param>
/// <param name="KillAtOrder">A random kill strikes once this many orders started (1 to three quarters of them).</param>
/// <param name="Orders">The orders placed, in order.</param>
internal sealed record RunPlan(int Seed, StoreKind Store, FaultPoint Fault, FaultTarget Target, int Hit, int KillAtOrder, IReadOnlyList<ChaosOrder> Orders)
{
    /// <summary>SKUs half of the orders go to, so transactions wait for each other's global locks.</summary>
    private static readonly string[] HotSkus = ["keyboard", "mouse"];

    /// <summary>
    /// Plans the run of <paramref name="seed"/>: even seeds run the embedded store, odd ones the
    /// shared store, and the fault cycles through the points each store reaches.
    /// </summary>
    public static RunPlan For(int seed, int orders, IReadOnlyList<FaultPoint> points)
    {
        var random = new Random(seed);
        var store = (seed & 1) == 0 ? StoreKind.Embedded : StoreKind.Postgres;
        var candidates = points.Where(p => p.Reaches(store)).ToList();
        if (candidates.Count == 0)
        {
            // Only the other store's points asked for: run them on it.
            store = store == StoreKind.Embedded ? StoreKind.Postgres : StoreKind.Embedded;
            candidates = [.. points.Where(p => p.Reaches(store))];
        }
        var fault = candidates[(int)((uint)seed / 2 % (uint)candidates.Count)];
        var target = fault.Targets[random.Next(fault.Targets.Count)];
        var hit = random.Next(fault.MinHit, fault.MaxHit + 1);
        var killAtOrder = random.Next(1, Math.Max(2, orders * 3 / 4 + 1));
        var planned = Enumerable.Range(0, orders).Select(_ => ChaosOrder.Random(random, HotSkus)).ToList();
        return new RunPlan(seed, store, fault, target, hit, killAtOrder, planned);
    }
}
