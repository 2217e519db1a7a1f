using System.Data.Common;
using Npgsql;

namespace AtProxy.IntegrationTests.AdoNet;

/// <summary>The reference: <see cref="AdoNetConformanceTests"/> on Npgsql's own data source.</summary>
public sealed class NpgsqlConformanceTests(OrderInventoryEnvironment env) : AdoNetConformanceTests, IClassFixture<OrderInventoryEnvironment>, IDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(env.InventoryConnectionString);

    protected override DbConnection CreateConnection() => _dataSource.CreateConnection();

    public void Dispose() => _dataSource.Dispose();
}
