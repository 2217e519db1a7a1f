using AtProxy.Coordinator.Locking;

namespace AtProxy.Coordinator.Tests.Locking;

/// <summary>The lock table on its own: all or nothing, re-entrancy, release rules, and concurrent exclusivity.</summary>
public class LockTableTests
{
    private static LockKeyId Key(string pk, string resource = "db") => new(resource, "t", pk);

    private static LockHolder Holder(string xid, long branch) => new(xid, branch, "app", 1);

    [Fact]
    public void TryAcquire_one_key_held_elsewhere_grants_none_of_the_keys()
    {
        var table = new LockTable();
        var a = Holder("tc:1", 1);
        Assert.Null(table.TryAcquire([Key("2")], a));

        var conflict = table.TryAcquire([Key("1"), Key("2"), Key("3")], Holder("tc:2", 2));

        Assert.NotNull(conflict);
        Assert.Equal((Key("2"), a), (conflict.Key, conflict.Holder));
        Assert.Null(table.HolderOf(Key("1")));
        Assert.Null(table.HolderOf(Key("3")));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void TryAcquire_same_transaction_is_reentrant_and_keeps_the_first_holder()
    {
        var table = new LockTable();
        var first = Holder("tc:1", 1);
        table.TryAcquire([Key("1"), Key("2")], first);

        Assert.Null(table.TryAcquire([Key("2"), Key("3")], Holder("tc:1", 2)));

        Assert.Same(first, table.HolderOf(Key("2")));
        Assert.Equal(3, table.Count);
    }

    [Fact]
    public void ReleaseTransaction_releases_only_its_own_keys()
    {
        var table = new LockTable();
        table.TryAcquire([Key("1")], Holder("tc:1", 1));
        table.TryAcquire([Key("2")], Holder("tc:2", 2));

        table.ReleaseTransaction([Key("1"), Key("2")], "tc:1");

        Assert.Null(table.HolderOf(Key("1")));
        Assert.Equal("tc:2", table.HolderOf(Key("2"))!.Xid);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void ReleaseBranch_key_shared_with_a_live_branch_passes_to_it()
    {
        var table = new LockTable();
        var first = Holder("tc:1", 1);
        var second = Holder("tc:1", 2);
        table.TryAcquire([Key("1"), Key("2")], first);
        table.TryAcquire([Key("2"), Key("3")], second);

        table.ReleaseBranch([Key("1"), Key("2")], first, key => key.Equals(Key("2")) ? second : null);

        Assert.Null(table.HolderOf(Key("1")));
        Assert.Same(second, table.HolderOf(Key("2")));
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void Check_answers_without_acquiring()
    {
        var table = new LockTable();
        table.TryAcquire([Key("1")], Holder("tc:1", 1));

        Assert.Null(table.Check([Key("1"), Key("2")], "tc:1"));
        Assert.Equal("tc:1", table.Check([Key("2"), Key("1")], "tc:2")!.Holder.Xid);
        Assert.NotNull(table.Check([Key("1")], null));
        Assert.Null(table.HolderOf(Key("2")));
    }

    [Fact]
    public async Task TryAcquire_many_threads_on_overlapping_keys_never_grants_a_key_to_two_transactions()
    {
        var table = new LockTable();
        var owners = new System.Collections.Concurrent.ConcurrentDictionary<LockKeyId, string>();
        var violations = 0;
        var grants = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(thread => Task.Run(() =>
        {
            var random = new Random(thread);
            for (var i = 0; i < 20_000; i++)
            {
                var xid = $"tc:{thread}-{i}";
                var keys = Enumerable.Range(0, 4).Select(_ => Key(random.Next(40).ToString(System.Globalization.CultureInfo.InvariantCulture))).Distinct().ToArray();
                if (table.TryAcquire(keys, Holder(xid, i)) is not null)
                {
                    continue;
                }
                Interlocked.Increment(ref grants);
                foreach (var key in keys)
                {
                    if (!owners.TryAdd(key, xid))
                    {
                        Interlocked.Increment(ref violations);
                    }
                }
                foreach (var key in keys)
                {
                    owners.TryRemove(key, out _);
                }
                table.ReleaseTransaction(keys, xid);
            }
        })));

        Assert.Equal(0, violations);
        Assert.True(grants > 1000, $"only {grants} grants");
        Assert.Equal(0, table.Count);
        Assert.Empty(table.Snapshot());
    }

    [Fact]
    public async Task WhenReleased_completes_when_the_key_is_released_and_not_before()
    {
        var table = new LockTable();
        Assert.True(table.WhenReleased(Key("1")).IsCompleted); // free: nothing to wait for

        var holder = Holder("tc:1", 1);
        table.TryAcquire([Key("1"), Key("2")], holder);
        var first = table.WhenReleased(Key("1"));
        var second = table.WhenReleased(Key("1"));
        var other = table.WhenReleased(Key("2"));
        Assert.False(first.IsCompleted);

        // Passing the key to another branch of the same transaction keeps it held.
        var sibling = Holder("tc:1", 2);
        table.ReleaseBranch([Key("1")], holder, key => sibling);
        Assert.False(first.IsCompleted);

        table.ReleaseTransaction([Key("1")], "tc:1");
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(other.IsCompleted);

        table.ReleaseBranch([Key("2")], holder, static _ => null);
        await other.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
