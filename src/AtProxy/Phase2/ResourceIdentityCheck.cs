using System.Data.Common;
using AtProxy.Protocol.V1;
using AtProxy.Resources;

namespace AtProxy.Phase2;

/// <summary>
/// The first thing phase 2 does: make sure this process's database for the resource id is the one
/// the branch was registered on. Another database under the same id (a second deployment, another
/// search path or undo schema) must not roll back by writing a marker and reporting success.
/// </summary>
internal static class ResourceIdentityCheck
{
    /// <summary>Why the command must not run here (for the operator), or null when it may.</summary>
    public readonly record struct Refusal(string Message, bool IdentityMismatch);

    /// <summary>Null when the command may run here.</summary>
    public static Task<Refusal?> RefusalAsync(Resource resource, BranchCommand command, CancellationToken cancellationToken) =>
        RefusalAsync(resource, command.ResourceIdentity, command.Xid, command.BranchId, cancellationToken);

    /// <summary>Null when the branch registered with <paramref name="resourceIdentity"/> may be read or run here.</summary>
    public static async Task<Refusal?> RefusalAsync(Resource resource, string resourceIdentity, string xid, long branchId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(resourceIdentity))
        {
            return null; // registered by an older client: nothing to compare
        }
        try
        {
            await resource.EnsureUndoLogAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or TimeoutException or InvalidOperationException or AtProxyException)
        {
            return new Refusal($"could not read the identity of resource {resource.Id}'s database: {ex.Message}", IdentityMismatch: false);
        }
        var here = resource.Identity!;
        if (string.Equals(here.Id, resourceIdentity, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return new Refusal($"resource {resource.Id} in this process is database {here.Database} schema {here.Schema} (identity {here.Id}), " +
            $"but branch {branchId} of {xid} was registered on identity {resourceIdentity}; " +
            "a process wrapping the right database must run phase 2", IdentityMismatch: true);
    }
}
