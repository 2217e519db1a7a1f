using System.Data.Common;
using AtProxy.Resources;

namespace AtProxy;

/// <summary>
/// The <see cref="DbProviderFactory"/> of AtProxy's wrappers, so that code which builds its ADO.NET
/// objects from a connection's factory (<c>DbProviderFactories.GetFactory(connection)</c>, data
/// adapters, ORMs) gets wrappers too.
/// </summary>
/// <remarks>
/// A connection is nothing without its resource id and client, so a factory belongs to one
/// database: there is one per <see cref="AtDbDataSource"/> (its connections report it), and one per
/// hand-built <see cref="AtDbConnection"/>. <see cref="CreateConnection"/> makes a connection to that
/// database (from the data source, or a copy of the hand-built connection's settings); commands,
/// parameters and batches come from the wrapped provider's factory, wrapped where AtProxy must see
/// them run. A data source for another connection string is not this factory's to make: wrap it with
/// <see cref="AtProxyClient.Wrap"/> under its own resource id.
/// </remarks>
public sealed class AtDbProviderFactory : DbProviderFactory
{
    private readonly Func<DbConnection> _createWrappedConnection;
    private readonly AtProxyRuntime _runtime;
    private readonly Resource _resource;

    internal AtDbProviderFactory(DbProviderFactory wrapped, Func<DbConnection> createWrappedConnection, AtProxyRuntime runtime, Resource resource)
    {
        WrappedFactory = wrapped;
        _createWrappedConnection = createWrappedConnection;
        _runtime = runtime;
        _resource = resource;
    }

    /// <summary>The wrapped provider's factory (e.g. <c>NpgsqlFactory.Instance</c>).</summary>
    public DbProviderFactory WrappedFactory { get; }

    /// <summary>The id the coordinator knows this factory's database by.</summary>
    public string ResourceId => _resource.Id;

    /// <inheritdoc />
    public override bool CanCreateBatch => WrappedFactory.CanCreateBatch;

    /// <summary>A new, closed connection to this factory's database.</summary>
    public override DbConnection CreateConnection() => new AtDbConnection(_createWrappedConnection(), _runtime, _resource, this);

    /// <summary>A command with no connection yet; give it an <see cref="AtDbConnection"/> before it runs.</summary>
    public override DbCommand CreateCommand() => new AtDbCommand(CreateWrapped(WrappedFactory.CreateCommand(), "command"), connection: null);

    /// <summary>A batch with no connection yet; give it an <see cref="AtDbConnection"/> before it runs.</summary>
    public override DbBatch CreateBatch() => new AtDbBatch(WrappedFactory.CreateBatch(), connection: null);

    /// <inheritdoc />
    public override DbBatchCommand CreateBatchCommand() => WrappedFactory.CreateBatchCommand();

    /// <inheritdoc />
    public override DbParameter CreateParameter() => CreateWrapped(WrappedFactory.CreateParameter(), "parameter");

    /// <summary>A data adapter whose commands, made by this factory, go through the proxy.</summary>
    public override DbDataAdapter CreateDataAdapter() => new AtDbDataAdapter();

    /// <summary>A command builder for this factory's data adapters, quoting as the wrapped provider does.</summary>
    public override DbCommandBuilder CreateCommandBuilder() => new AtDbCommandBuilder(WrappedFactory.CreateCommandBuilder());

    /// <inheritdoc />
    public override DbConnectionStringBuilder? CreateConnectionStringBuilder() => WrappedFactory.CreateConnectionStringBuilder();

    /// <summary>Not supported: a data source for another connection string needs a resource id of its own.</summary>
    public override DbDataSource CreateDataSource(string connectionString) =>
        throw new NotSupportedException(
            $"An {nameof(AtDbProviderFactory)} makes connections to its own database ('{ResourceId}') only; " +
            $"wrap a data source for another connection string with {nameof(AtProxyClient)}.{nameof(AtProxyClient.Wrap)} under its own resource id.");

    private T CreateWrapped<T>(T? created, string what) where T : class =>
        created ?? throw new NotSupportedException($"{WrappedFactory.GetType().Name} cannot create a {what}.");
}
