namespace AtProxy.AspNetCore;

/// <summary>What a <see cref="GlobalTransactionalAttribute"/> decides: is it well formed, and does an outcome roll back.</summary>
internal static class GlobalTransactionDeclaration
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first thing wrong with the declaration.</summary>
    public static void Validate(GlobalTransactionalAttribute declaration)
    {
        var what = declaration.Name is { } name ? $"global transaction '{name}'" : "global transaction";
        if (declaration.TimeoutMilliseconds < 0)
        {
            throw new ArgumentException($"The {what} declares a negative timeout ({declaration.TimeoutMilliseconds} ms).", nameof(declaration));
        }
        if (!Enum.IsDefined(declaration.Propagation))
        {
            throw new ArgumentException($"The {what} declares an unknown propagation ({(int)declaration.Propagation}).", nameof(declaration));
        }
        foreach (var type in declaration.RollbackFor.Concat(declaration.NoRollbackFor))
        {
            if (type is null || !typeof(Exception).IsAssignableFrom(type))
            {
                throw new ArgumentException($"The {what} lists {type?.FullName ?? "null"} in its rollback rules; only exception types can be listed.", nameof(declaration));
            }
        }
        foreach (var status in declaration.NoRollbackForStatusCodes)
        {
            if (status is < 400 or > 599)
            {
                throw new ArgumentException($"The {what} lists status {status} in NoRollbackForStatusCodes; only error statuses (400-599) roll back to begin with.", nameof(declaration));
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> rolls back: the rule whose type is the closest base of the
    /// exception's type wins (a tie goes to rollback); with no matching rule, it rolls back.
    /// </summary>
    public static bool RollsBackOn(GlobalTransactionalAttribute declaration, Exception exception)
    {
        var rollback = ClosestDistance(declaration.RollbackFor, exception.GetType());
        var noRollback = ClosestDistance(declaration.NoRollbackFor, exception.GetType());
        return noRollback is not { } keep || (rollback is { } undo && undo <= keep);
    }

    /// <summary>Whether a response with <paramref name="statusCode"/> rolls back: error statuses do, unless listed.</summary>
    public static bool RollsBackOn(GlobalTransactionalAttribute declaration, int statusCode) =>
        statusCode >= 400 && !declaration.NoRollbackForStatusCodes.Contains(statusCode);

    // How many steps up from the thrown type to a listed type, or null when none is a base of it.
    private static int? ClosestDistance(Type[] listed, Type thrown)
    {
        var distance = 0;
        for (var type = thrown; type is not null; type = type.BaseType, distance++)
        {
            if (listed.Contains(type))
            {
                return distance;
            }
        }
        return null;
    }
}
