using System.Data;
using System.Data.Common;

namespace AtProxy.Sql.Dialects;

/// <summary>Puts generated SQL and its parameters on a provider command.</summary>
internal static class GeneratedSqlCommand
{
    /// <summary>
    /// Sets the command's text and adds the generated parameters: text as text (the SQL casts it),
    /// text arrays as they are (the provider binds a string array as <c>text[]</c>).
    /// </summary>
    public static void Apply(this GeneratedSql sql, DbCommand command)
    {
        command.CommandText = sql.Text;
        AddParameters(sql, command.Parameters, command.CreateParameter);
    }

    /// <inheritdoc cref="Apply(GeneratedSql, DbCommand)" />
    public static void Apply(this GeneratedSql sql, DbBatchCommand command)
    {
        command.CommandText = sql.Text;
        AddParameters(sql, command.Parameters, command.CreateParameter);
    }

    private static void AddParameters(GeneratedSql sql, DbParameterCollection parameters, Func<DbParameter> create)
    {
        foreach (var generated in sql.Parameters)
        {
            var parameter = create();
            parameter.ParameterName = generated.Name;
            if (generated.Value is not string[])
            {
                parameter.DbType = DbType.String;
            }
            parameter.Value = generated.Value ?? DBNull.Value;
            parameters.Add(parameter);
        }
    }
}
