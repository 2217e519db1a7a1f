using System.Diagnostics.Metrics;
using System.Data.Common;
using System.Diagnostics;
using AtProxy.Coordination;
using AtProxy.Diagnostics;
using AtProxy.Phase1;
using AtProxy.Phase2;
using AtProxy.Resources;
using AtProxy.Transactions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AtProxy;

/// <summary>
/// One per process: the connection to the coordinator, the transaction-manager API
/// (<see cref="BeginAsync"/>, <see cref="Join"/>) and the resource manager that runs phase 2 for
/// every data source it wrapped.
/// </summary>
public sealed class AtProxyClient : IAsyncDisposable
{
    private AtProxyClient(AtProxyOptions options, ILoggerFactory loggerFactory, IMeterFactory? meterFactory)
    {
        Runtime = new AtProxyRuntime(options, loggerFactory, meterFactory);
    }

    /// <summary>Creates a client; it connects lazily and opens its phase-2 streams when a resource is wrapped.</summary>
    public static AtProxyClient Create(AtProxyOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new AtProxyClient(options, loggerFactory ?? NullLoggerFactory.Instance, meterFactory: null);
    }

    /// <summary>
    /// Creates a client whose instruments (meter "AtProxy") are created through
    /// <paramref name="meterFactory"/>, as dependency injection does (<c>services.AddAtProxy</c>);
    /// without one they live on one meter shared by the process.
    /// </summary>
    /// <param name="options">The settings.</param>
    /// <param name="loggerFactory">Where the client logs; none when null.</param>
    /// <param name="meterFactory">Where the client's meter comes from; the process's shared meter when null.</param>
    public static AtProxyClient Create(AtProxyOptions options, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new AtProxyClient(options, loggerFactory ?? NullLoggerFactory.Instance, meterFactory);
    }

    /// <summary>The settings in force.</summary>
    public AtProxyOptions Options => Runtime.Options;

    /// <summary>What this client is made of; the integrations (EF Core) and tests reach the parts through it.</summary>
    internal AtProxyRuntime Runtime { get; }

    /// <summary>The XID of the ambient global transaction, or null outside one.</summary>
    public string? CurrentXid => GlobalTransactionContext.CurrentXid;

    /// <summary>
    /// Wraps a data source so that connections from it join the ambient global transaction.
    /// <paramref name="resourceId"/> names the database for the coordinator and must stay the same
    /// across restarts and hosts (it is not the connection string).
    /// </summary>
    public AtDbDataSource Wrap(DbDataSource dataSource, string resourceId)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var attachment = Runtime.Resources.Attach(resourceId, ct => dataSource.OpenConnectionAsync(ct));
        return new AtDbDataSource(dataSource, Runtime, attachment);
    }

    /// <summary>
    /// Begins a global transaction, or joins the ambient one when the flow already has one (then
    /// only the originator's commit or rollback counts).
    /// </summary>
    /// <remarks>
    /// Not an <c>async</c> method on purpose: the ambient scope is bound here, in the caller's
    /// context, so that it is still in force after the caller's <c>await</c>.
    /// </remarks>
    public Task<GlobalTransaction> BeginAsync(string name, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ObjectDisposedException.ThrowIf(Runtime.IsDisposed, this);
        if (GlobalTransactionContext.CurrentXid is { } ambient)
        {
            return Task.FromResult(new GlobalTransaction(Runtime.Outcomes, ambient, isOriginator: false, GlobalTransactionContext.Bind(ambient)));
        }
        var effective = timeout ?? Options.DefaultTransactionTimeout;
        if (effective <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), "A global transaction's timeout must be positive.");
        }
        var scope = GlobalTransactionContext.Bind(null);
        return BeginCoreAsync(name, effective, scope, cancellationToken);
    }

    private async Task<GlobalTransaction> BeginCoreAsync(string name, TimeSpan timeout, GlobalTransactionContext.Scope scope, CancellationToken cancellationToken)
    {
        using var activity = AtProxyTelemetry.Start("atproxy.begin", xid: null, ActivityKind.Client);
        activity?.SetTag("atproxy.name", name);
        try
        {
            var response = await Runtime.Coordinator.BeginAsync(name, timeout, cancellationToken).ConfigureAwait(false);
            activity?.SetTag(AtProxyTelemetry.XidTag, response.Xid);
            scope.SetXid(response.Xid);
            return new GlobalTransaction(Runtime.Outcomes, response.Xid, isOriginator: true, scope);
        }
        catch (Exception ex)
        {
            scope.Dispose();
            AtProxyTelemetry.Fail(activity, ex);
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a global transaction: committed when it returns, rolled back
    /// when it throws (the exception is rethrown).
    /// </summary>
    public async Task ExecuteAsync(string name, Func<Task> work, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var transaction = await BeginAsync(name, timeout, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            await work().ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a global transaction and returns its result: committed when
    /// it returns, rolled back when it throws.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(string name, Func<Task<T>> work, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var transaction = await BeginAsync(name, timeout, cancellationToken).ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var result = await work().ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
    }

    /// <summary>
    /// Joins a global transaction begun elsewhere (e.g. by the caller of this service) until the
    /// result is disposed. Throws <see cref="ArgumentException"/> for a malformed XID.
    /// </summary>
    public IDisposable Join(string xid)
    {
        Xid.EnsureWellFormed(xid, nameof(xid));
        return GlobalTransactionContext.Bind(xid);
    }

    /// <summary>Leaves the ambient global transaction until the result is disposed (for work that must not join).</summary>
    public IDisposable Suspend() => GlobalTransactionContext.Bind(null);

    /// <summary>
    /// Until disposed, local transactions outside any global transaction check the global locks of
    /// the rows they write and lock with <c>FOR UPDATE</c>, without registering a branch: they never
    /// overwrite (or read for update) data of an undecided global transaction.
    /// </summary>
    public IDisposable GlobalLock() => GlobalTransactionContext.Bind(GlobalTransactionContext.CurrentXid, globalLock: GlobalTransactionContext.CurrentXid is null);

    /// <summary>
    /// Stops the phase-2 streams, deletes the undo rows of committed branches still queued (waiting at
    /// most <see cref="AtProxyOptions.UndoDrainTimeout"/>; dispose the client before the data sources it
    /// wrapped, or the data sources first: both drain) and closes the coordinator channels.
    /// </summary>
    public ValueTask DisposeAsync() => Runtime.DisposeAsync();
}
