using AtProxy.Testing.Alerts;
using AtProxy.Testing.Coordinator;
using AtProxy.Testing.Postgres;

namespace AtProxy.Coordinator.Tests;

/// <summary>
/// Coordinators sharing a PostgreSQL store see the same unfinished transactions. Each lists them,
/// but only one notifies them, so the webhook hears of each once, not once per coordinator; when
/// that one is killed, a survivor notifies the next ones.
/// </summary>
public class SharedStoreAlertTests
{
    private const int PerBatch = 6;

    [Fact]
    public async Task Each_unfinished_transaction_is_notified_once_by_one_of_three_coordinators_and_a_survivor_takes_over_when_it_is_killed()
    {
        var server = await PostgresServer.SharedAsync();
        await using var store = await server.CreateDatabaseAsync("tc_alerts");
        await using var webhook = new AlertWebhookReceiver();
        var coordinators = new List<CoordinatorProcess>();
        try
        {
            for (var i = 1; i <= 3; i++)
            {
                coordinators.Add(await CoordinatorProcess.StartAsync(Options(store.ConnectionString, $"tc-{i}", webhook.Url)));
            }

            var first = await BeginUnfinishedAsync(coordinators, "first");
            var leader = await NotifiedOnceEachAsync(webhook, first);
            // Every coordinator lists them, the ones that did not notify them included.
            foreach (var coordinator in coordinators)
            {
                await Eventually.TrueAsync(async () =>
                {
                    var listed = (await new Protocol.V1.Admin.AdminClient(coordinator.Channel).ListAlertsAsync(new ListAlertsRequest())).Alerts
                        .Where(a => a.Kind == "unfinished").Select(a => a.Xid).ToHashSet(StringComparer.Ordinal);
                    return first.All(listed.Contains);
                }, TimeSpan.FromSeconds(30), "every coordinator to list the unfinished transactions");
            }

            var dead = coordinators.Single(c => NodeIdOf(c, coordinators) == leader);
            dead.Kill();
            var survivors = coordinators.Where(c => c != dead).ToList();
            var second = await BeginUnfinishedAsync(survivors, "second");
            var successor = await NotifiedOnceEachAsync(webhook, second);
            Assert.NotEqual(leader, successor);
            // The successor may notify the first ones again (it cannot know the dead one did), at most once each.
            foreach (var xid in first)
            {
                Assert.InRange(webhook.AlertsFor(xid, "unfinished").Count, 1, 2);
            }
        }
        finally
        {
            foreach (var coordinator in coordinators)
            {
                await coordinator.DisposeAsync();
            }
        }
    }

    private static async Task<List<string>> BeginUnfinishedAsync(List<CoordinatorProcess> coordinators, string name)
    {
        var xids = new List<string>();
        for (var i = 0; i < PerBatch; i++)
        {
            var tm = new TransactionManager.TransactionManagerClient(coordinators[i % coordinators.Count].Channel);
            xids.Add((await tm.BeginAsync(new BeginRequest { ApplicationId = "alerts-test", Name = name, TimeoutMs = 600_000 })).Xid);
        }
        return xids;
    }

    /// <summary>Waits until the webhook heard of each transaction, then watches a while longer: once each, all from one coordinator, whose node id it returns.</summary>
    private static async Task<string> NotifiedOnceEachAsync(AlertWebhookReceiver webhook, List<string> xids)
    {
        await Eventually.TrueAsync(() => xids.All(x => webhook.AlertsFor(x, "unfinished").Count > 0), TimeSpan.FromSeconds(30),
            "an unfinished alert for every transaction");
        // Alert passes run every 100 ms on every coordinator: many passes to raise a duplicate in.
        await Never.WithinAsync(() => xids.Any(x => webhook.AlertsFor(x, "unfinished").Count > 1), TimeSpan.FromSeconds(2),
            "a second unfinished alert for one transaction", "one coordinator at a time notifies them");
        var senders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var xid in xids)
        {
            var alerts = webhook.AlertsFor(xid, "unfinished");
            Assert.True(alerts.Count == 1, $"{xid} was notified {alerts.Count} times: " + string.Join(", ", alerts.Select(a => a.GetProperty("coordinator").GetString())));
            senders.Add(alerts[0].GetProperty("coordinator").GetString()!);
        }
        return Assert.Single(senders);
    }

    private static string NodeIdOf(CoordinatorProcess coordinator, List<CoordinatorProcess> all) => $"tc-{all.IndexOf(coordinator) + 1}";

    private static CoordinatorProcessOptions Options(string storeConnection, string nodeId, Uri webhook)
    {
        var options = new CoordinatorProcessOptions { Store = "postgres" };
        options.Settings["Coordinator:StoreConnection"] = storeConnection;
        options.Settings["Coordinator:NodeId"] = nodeId;
        options.Settings["Coordinator:UnfinishedAlertAfterMs"] = "400";
        options.Settings["Coordinator:AlertWebhookUrl"] = webhook.ToString();
        options.Settings["Coordinator:LeaseMs"] = "2000";
        return options;
    }
}
