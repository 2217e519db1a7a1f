using System.Diagnostics;
using AtProxy.Coordinator.Diagnostics;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using AtProxy.Protocol.V1;

namespace AtProxy.Coordinator.ResourceManagers;

/// <summary>
/// The resource managers connected now, by resource id. A command for a resource goes to one
/// of its connected instances in turn; with none connected it fails as retryable, and the
/// transaction is tried again as soon as one subscribes (<see cref="ResourceConnected"/>).
/// </summary>
internal sealed class ResourceManagerHub(CoordinatorMetrics metrics)
{
    private readonly ConcurrentDictionary<string, ImmutableArray<ResourceManagerConnection>> _byResource = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ResourceManagerConnection, byte> _all = new();
    private long _turn;

    /// <summary>Raised with the resource ids of a resource manager that just subscribed.</summary>
    public event Action<IReadOnlyList<string>>? ResourceConnected;

    public ICollection<ResourceManagerConnection> Connections => _all.Keys;

    public bool IsConnected(string resourceId) => _byResource.TryGetValue(resourceId, out var list) && !list.IsDefaultOrEmpty;

    public void Add(ResourceManagerConnection connection)
    {
        _all[connection] = 0;
        foreach (var resourceId in connection.ResourceIds)
        {
            _byResource.AddOrUpdate(resourceId, _ => [connection], (_, list) => list.Add(connection));
        }
        ResourceConnected?.Invoke(connection.ResourceIds);
    }

    public void Remove(ResourceManagerConnection connection)
    {
        _all.TryRemove(connection, out _);
        foreach (var resourceId in connection.ResourceIds)
        {
            _byResource.AddOrUpdate(resourceId, _ => [], (_, list) => list.Remove(connection));
        }
        connection.Close();
    }

    /// <summary>
    /// Sends a phase-2 command to one connected instance of the resource and waits for its outcome.
    /// An instance that refuses because it serves the id over another database than the branch's
    /// (<see cref="BranchCommandOutcome.IdentityMismatch"/>) is passed over for the next one; when
    /// every instance refuses, the last refusal is the outcome (retryable).
    /// </summary>
    public async Task<BranchCommandOutcome> SendAsync(BranchAction action, string xid, long branchId, string resourceId, string resourceIdentity, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!_byResource.TryGetValue(resourceId, out var list) || list.IsDefaultOrEmpty)
        {
            return BranchCommandOutcome.Retry(action, $"No resource manager for '{resourceId}' is connected; waiting for one.") with { NoResourceManager = true };
        }
        var turn = (int)((ulong)Interlocked.Increment(ref _turn) % (ulong)list.Length);
        var started = Stopwatch.GetTimestamp();
        var outcome = await list[turn].SendAsync(action, xid, branchId, resourceId, resourceIdentity, timeout, cancellationToken).ConfigureAwait(false);
        for (var next = 1; next < list.Length && outcome.IdentityMismatch; next++)
        {
            outcome = await list[(turn + next) % list.Length].SendAsync(action, xid, branchId, resourceId, resourceIdentity, timeout, cancellationToken).ConfigureAwait(false);
        }
        metrics.BranchCommand(action, outcome.Verdict, started);
        return outcome;
    }

    /// <summary>
    /// Asks one connected instance of the branch's resource for the branch's undo images and waits for
    /// them until <paramref name="cancellationToken"/>. Instances that serve the id over another database
    /// are passed over. UNAVAILABLE, naming the resource, when none is connected here, when the stream
    /// is lost before the answer, or when the resource manager could not read them.
    /// </summary>
    public async Task<GetBranchUndoResponse> RequestUndoImagesAsync(UndoImagesRequest request, string coordinatorId, CancellationToken cancellationToken)
    {
        if (!_byResource.TryGetValue(request.ResourceId, out var list) || list.IsDefaultOrEmpty)
        {
            throw CoordinatorErrors.NoResourceManager(request.ResourceId, coordinatorId);
        }
        var turn = (int)((ulong)Interlocked.Increment(ref _turn) % (ulong)list.Length);
        UndoImagesResult? refused = null;
        for (var next = 0; next < list.Length; next++)
        {
            var connection = list[(turn + next) % list.Length];
            UndoImagesResult result;
            try
            {
                result = await connection.RequestUndoImagesAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (ResourceManagerConnection.ResourceManagerDisconnectedException)
            {
                throw CoordinatorErrors.ResourceManagerLost(request.ResourceId, connection.InstanceId);
            }
            if (result.IdentityMismatch)
            {
                refused = result;
                continue;
            }
            if (result.Images is null || result.Error.Length > 0)
            {
                throw CoordinatorErrors.UndoImagesUnreadable(request.ResourceId, connection.InstanceId, result.Error);
            }
            result.Images.ResourceId = request.ResourceId;
            return result.Images;
        }
        throw CoordinatorErrors.UndoImagesUnreadable(request.ResourceId, "every connected instance", refused!.Error);
    }
}
