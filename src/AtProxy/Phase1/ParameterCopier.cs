using System.Data.Common;

namespace AtProxy.Phase1;

/// <summary>Copies the application's parameters onto a command the proxy runs, so spliced user text binds the same values.</summary>
internal static class ParameterCopier
{
    public static void CopyAll(DbParameterCollection source, DbCommand target) => CopyAll(source, target.Parameters, target.CreateParameter);

    public static void CopyAll(DbParameterCollection source, DbBatchCommand target) => CopyAll(source, target.Parameters, target.CreateParameter);

    private static void CopyAll(DbParameterCollection source, DbParameterCollection target, Func<DbParameter> create)
    {
        foreach (DbParameter parameter in source)
        {
            if (parameter.Direction is System.Data.ParameterDirection.Output or System.Data.ParameterDirection.ReturnValue)
            {
                continue;
            }
            // A parameter belongs to one collection; providers clone (keeping provider-specific types).
            if (parameter is ICloneable cloneable)
            {
                target.Add((DbParameter)cloneable.Clone());
                continue;
            }
            var copy = create();
            copy.ParameterName = parameter.ParameterName;
            copy.Value = parameter.Value;
            copy.DbType = parameter.DbType;
            copy.Direction = parameter.Direction;
            copy.Size = parameter.Size;
            copy.Precision = parameter.Precision;
            copy.Scale = parameter.Scale;
            copy.IsNullable = parameter.IsNullable;
            target.Add(copy);
        }
    }
}
