using AtProxy.Coordinator.Configuration;
using AtProxy.Coordinator.Locking;
using AtProxy.Protocol.V1;
using AtProxy.Transactions;
using Google.Protobuf.Collections;

namespace AtProxy.Coordinator.Coordination;

/// <summary>Checks requests against the contract's limits; every failure is INVALID_ARGUMENT and changes nothing.</summary>
internal static class RequestValidation
{
    public const int MaxIdLength = 128;
    public const int MaxNameLength = 256;
    public const int MaxTableLength = 256;
    public const int MaxPrimaryKeyLength = 1024;
    public const int MaxReasonLength = 1024;
    public const int MaxStatusLookups = 1000;

    public static void RequireXid(string xid)
    {
        if (Xid.Problem(xid) is { } problem)
        {
            throw CoordinatorErrors.MalformedXid(problem);
        }
    }

    /// <summary>The longest registration id a proxy may send (a GUID in text is 32 to 38).</summary>
    public const int MaxRequestIdLength = 64;

    public static void RequireId(string value, string field, bool required = true, int maxLength = MaxIdLength)
    {
        if (required && string.IsNullOrEmpty(value))
        {
            throw CoordinatorErrors.InvalidArgument($"{field} is required (1..{maxLength} characters).");
        }
        if (value.Length > maxLength)
        {
            throw CoordinatorErrors.InvalidArgument($"{field} is {value.Length} characters long; at most {maxLength} are allowed.");
        }
    }

    public static void RequireReason(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason) || reason.Length > MaxReasonLength)
        {
            throw CoordinatorErrors.InvalidArgument($"A reason is required for every intervention (1..{MaxReasonLength} characters); got {reason.Length}.");
        }
    }

    /// <summary>The effective timeout: 0 means the default; beyond the maximum is refused.</summary>
    public static uint EffectiveTimeout(uint requestedMs, CoordinatorOptions options)
    {
        if (requestedMs == 0)
        {
            return options.DefaultTimeoutMs;
        }
        if (requestedMs > options.MaxTimeoutMs)
        {
            throw CoordinatorErrors.InvalidArgument($"timeout_ms {requestedMs} is beyond this coordinator's maximum of {options.MaxTimeoutMs} ms (0 means the default of {options.DefaultTimeoutMs} ms).");
        }
        return requestedMs;
    }

    /// <summary>The keys in the lock table's form, without duplicates, after checking count and sizes.</summary>
    public static LockKeyId[] LockKeys(string resourceId, RepeatedField<LockKey> keys, int maxKeys)
    {
        if (keys.Count == 0)
        {
            throw CoordinatorErrors.InvalidArgument("lock_keys is empty; a branch must name at least one row it writes.");
        }
        if (keys.Count > maxKeys)
        {
            throw CoordinatorErrors.InvalidArgument($"lock_keys has {keys.Count} keys; at most {maxKeys} are allowed in one request.");
        }
        var distinct = new HashSet<LockKeyId>(keys.Count);
        var result = new List<LockKeyId>(keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (string.IsNullOrEmpty(key.Table) || key.Table.Length > MaxTableLength)
            {
                throw CoordinatorErrors.InvalidArgument($"lock_keys[{i}].table must be 1..{MaxTableLength} characters (got {key.Table.Length}).");
            }
            if (key.PrimaryKey.Length > MaxPrimaryKeyLength)
            {
                throw CoordinatorErrors.InvalidArgument($"lock_keys[{i}].primary_key is {key.PrimaryKey.Length} characters long; at most {MaxPrimaryKeyLength} are allowed.");
            }
            var id = new LockKeyId(resourceId, key.Table, key.PrimaryKey);
            if (distinct.Add(id))
            {
                result.Add(id);
            }
        }
        return [.. result];
    }
}
