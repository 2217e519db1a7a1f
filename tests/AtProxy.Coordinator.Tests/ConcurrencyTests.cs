using System.Collections.Concurrent;

namespace AtProxy.Coordinator.Tests;

/// <summary>Many transactions at once on overlapping keys, over gRPC: exclusive locks, nothing left behind.</summary>
public class ConcurrencyTests
{
    [Theory]
    [MemberData(nameof(StoreKinds.All), MemberType = typeof(StoreKinds))]
    public async Task Many_transactions_on_overlapping_keys_never_get_a_key_granted_to_two_xids_and_leave_nothing_behind(string store)
    {
        await using var coordinator = await InProcessCoordinator.StartAsync(store);
        await using var rm = await ScriptedResourceManager.ConnectAsync(coordinator.Channel, "app", "db-1", "db-2");
        var owners = new ConcurrentDictionary<string, string>();
        var violations = new ConcurrentBag<string>();
        var decided = new ConcurrentBag<(string Xid, bool Commit)>();
        var conflicts = 0;

        await Task.WhenAll(Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            var random = new Random(worker);
            for (var i = 0; i < 25; i++)
            {
                var xid = await coordinator.Tm.BeginAsync(timeoutMs: 60_000);
                var held = new List<string>();
                for (var branch = 0; branch < 2; branch++)
                {
                    var resource = random.Next(2) == 0 ? "db-1" : "db-2";
                    var keys = Enumerable.Range(0, 3).Select(_ => $"t:{random.Next(30)}").Distinct().ToArray();
                    var response = await coordinator.Rm.RegisterAsync(xid, resource, keys);
                    if (response.Conflict is not null)
                    {
                        Interlocked.Increment(ref conflicts);
                        Assert.NotEqual(xid, response.Conflict.HolderXid);
                        continue;
                    }
                    foreach (var key in keys.Select(k => $"{resource}/{k}"))
                    {
                        if (owners.TryGetValue(key, out var owner) && owner == xid)
                        {
                            continue; // re-entrant within this transaction
                        }
                        if (!owners.TryAdd(key, xid))
                        {
                            violations.Add($"{key} granted to {xid} while {owners.GetValueOrDefault(key)} holds it");
                        }
                        else
                        {
                            held.Add(key);
                        }
                    }
                }
                // Give the keys up in the test's book before the coordinator can grant them again.
                foreach (var key in held)
                {
                    owners.TryRemove(key, out _);
                }
                var commit = random.Next(3) != 0;
                if (commit)
                {
                    await coordinator.Tm.CommitAsync(xid);
                }
                else
                {
                    await coordinator.Tm.RollbackAsync(xid);
                }
                decided.Add((xid, commit));
            }
        })));

        Assert.Empty(violations);
        Assert.True(conflicts > 0, "the keys overlap, so some registrations must have conflicted");
        foreach (var (xid, commit) in decided)
        {
            await coordinator.Tm.WaitForStatusAsync(xid, commit ? GlobalStatus.Committed : GlobalStatus.Rollbacked);
        }
        Assert.Equal(0, (await coordinator.Admin.GetCoordinatorStatusAsync(new GetCoordinatorStatusRequest())).LocksHeld);
        Assert.Equal(400, decided.Count);
    }
}
