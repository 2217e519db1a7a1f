using System.Data.Common;
using AtProxy.Resources;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;

namespace AtProxy.EntityFrameworkCore;

/// <summary>Turns on AtProxy for a DbContext configured with Npgsql's EF Core provider.</summary>
public static class AtProxyDbContextOptionsExtensions
{
    /// <summary>
    /// Inside a global transaction, makes the context's writes (SaveChanges, ExecuteUpdate/ExecuteDelete,
    /// raw SQL) branches with undo records and global locks; outside one, EF Core runs as before. Call
    /// after <c>UseNpgsql(...)</c>. <paramref name="resourceId"/> names the database for the
    /// coordinator; use the same id wherever this database is written.
    /// </summary>
    public static DbContextOptionsBuilder UseAtProxy(this DbContextOptionsBuilder optionsBuilder, AtProxyClient atProxy, string resourceId)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        ArgumentNullException.ThrowIfNull(atProxy);
        var runtime = atProxy.Runtime;
        var resource = runtime.Resources.Find(resourceId) is { IsServed: true } served ? served : Register(optionsBuilder, runtime.Resources, resourceId);
        var branches = new BranchTable(runtime, resource);
        return optionsBuilder.AddInterceptors(
            new AtProxyCommandInterceptor(runtime.Phase1, resource, branches),
            new AtProxyTransactionInterceptor(branches));
    }

    /// <inheritdoc cref="UseAtProxy(DbContextOptionsBuilder, AtProxyClient, string)"/>
    public static DbContextOptionsBuilder<TContext> UseAtProxy<TContext>(this DbContextOptionsBuilder<TContext> optionsBuilder, AtProxyClient atProxy, string resourceId)
        where TContext : DbContext =>
        (DbContextOptionsBuilder<TContext>)UseAtProxy((DbContextOptionsBuilder)optionsBuilder, atProxy, resourceId);

    // Phase 2 opens connections of its own to the same database, so it needs to know how.
    private static Resource Register(DbContextOptionsBuilder optionsBuilder, ResourceRegistry resources, string resourceId)
    {
        var relational = optionsBuilder.Options.Extensions.OfType<RelationalOptionsExtension>().FirstOrDefault()
            ?? throw new InvalidOperationException("Call UseNpgsql(...) before UseAtProxy(...).");
        if (relational.ConnectionString is { Length: > 0 } connectionString)
        {
            return resources.Register(resourceId, async cancellationToken =>
            {
                var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                return (DbConnection)connection;
            });
        }
        if (relational.Connection is { } connection)
        {
            return resources.RegisterConnectionTemplate(resourceId, connection);
        }
        throw new InvalidOperationException(
            $"UseAtProxy could not find how to connect to resource '{resourceId}' for phase 2: configure UseNpgsql with a connection string or a connection, " +
            $"or wrap the data source first with atProxy.Wrap(dataSource, \"{resourceId}\").");
    }
}
