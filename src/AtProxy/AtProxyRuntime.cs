using AtProxy.Diagnostics;
using System.Diagnostics.Metrics;
using AtProxy.Transactions;
using AtProxy.Coordination;
using AtProxy.Phase1;
using AtProxy.Phase2;
using AtProxy.Resources;
using AtProxy.Sql;
using Microsoft.Extensions.Logging;

namespace AtProxy;

/// <summary>
/// The parts one <see cref="AtProxyClient"/> is made of, built once and shared by its data sources,
/// connections, transactions and phase-2 host. Each part is handed this object (or only what it
/// needs from it), never the public client, so the public facade stays thin and nothing loops back
/// through it.
/// </summary>
internal sealed class AtProxyRuntime : IAsyncDisposable
{
    public AtProxyRuntime(AtProxyOptions options, ILoggerFactory loggerFactory, IMeterFactory? meterFactory = null)
    {
        Options = options;
        LoggerFactory = loggerFactory;
        Metrics = new AtProxyMetrics(meterFactory);
        Coordinator = new CoordinatorClient(options, Metrics, loggerFactory.CreateLogger("AtProxy.Coordinator"));
        Outcomes = new TransactionOutcomes(Coordinator, Metrics, loggerFactory.CreateLogger("AtProxy.GlobalTransaction"));
        Resources = new ResourceRegistry(options);
        var resourceManagerLogger = loggerFactory.CreateLogger("AtProxy.ResourceManager");
        ResourceManager = new ResourceManagerHost(options, Coordinator, Resources, Metrics, resourceManagerLogger);
        Settling = new PhaseTwoSettling(ResourceManager.Outstanding, ResourceManager.UndoDeletion, Coordinator, resourceManagerLogger);
        Locks = new GlobalLockGate(Coordinator, options, Metrics);
        Committer = new BranchCommitter(Coordinator, Locks, ResourceManager.Outstanding, ResourceManager.WrittenUndo, options, Metrics, loggerFactory.CreateLogger("AtProxy.Phase1"));
        Phase1 = new Phase1Gateway(this);
    }

    /// <summary>The settings in force.</summary>
    public AtProxyOptions Options { get; }

    /// <summary>The proxy's instruments (meter "AtProxy").</summary>
    public AtProxyMetrics Metrics { get; }

    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The transaction-manager and lock calls to the coordinator.</summary>
    public CoordinatorClient Coordinator { get; }

    /// <summary>Commit and rollback requests, with their outcome looked up when a request gets no answer.</summary>
    public TransactionOutcomes Outcomes { get; }

    /// <summary>The databases this process wrapped, by resource id.</summary>
    public ResourceRegistry Resources { get; }

    /// <summary>Reads the application's SQL (shared by every client in the process: it caches by text).</summary>
    public SqlRecognizer Recognizer => SqlRecognizer.Shared;

    /// <summary>Takes and checks global row locks, waiting and retrying while another transaction holds one.</summary>
    public GlobalLockGate Locks { get; }

    /// <summary>Registers branches and writes their undo records at local commit.</summary>
    public BranchCommitter Committer { get; }

    /// <summary>The one way a command, batch or EF Core command enters phase 1.</summary>
    public Phase1Gateway Phase1 { get; }

    /// <summary>Phase 2: the streams the coordinator's commit and rollback commands come over.</summary>
    public ResourceManagerHost ResourceManager { get; }

    /// <summary>Waits for the phase-2 commands of this process's decided branches before a resource or the client goes.</summary>
    public PhaseTwoSettling Settling { get; }

    /// <summary>True once the client is (being) disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private int _disposed;

    /// <summary>
    /// Lets go of a data source that is being disposed: the phase-2 commands of its resource's decided
    /// transactions are awaited, then it takes no new one, the undo rows of the committed branches are
    /// deleted (all within <see cref="AtProxyOptions.UndoDrainTimeout"/>), and it is detached. When it
    /// was the last one wrapping its resource, the resource is unsubscribed and the coordinator keeps
    /// its phase-2 work for the next data source (in this process or another) that wraps the id.
    /// </summary>
    public async Task ReleaseAsync(ResourceAttachment attachment)
    {
        try
        {
            if (!IsDisposed)
            {
                await Settling.SettleAsync(attachment.Resource, Options.UndoDrainTimeout, attachment.BeginClose).ConfigureAwait(false);
            }
            else
            {
                // The client is (being) disposed: its streams are stopping; only the queued deletes are left.
                attachment.BeginClose();
                await ResourceManager.UndoDeletion.DrainAsync(attachment.Resource, Options.UndoDrainTimeout).ConfigureAwait(false);
            }
        }
        finally
        {
            attachment.Detach();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        // Phase-2 commands of decided transactions come over the streams: settle before stopping them.
        await Settling.SettleAsync(resource: null, Options.UndoDrainTimeout).ConfigureAwait(false);
        await ResourceManager.DisposeAsync().ConfigureAwait(false);
        await Resources.DisposeAsync().ConfigureAwait(false);
        await Coordinator.DisposeAsync().ConfigureAwait(false);
    }
}
