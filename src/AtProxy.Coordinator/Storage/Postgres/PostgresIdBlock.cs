using System.Globalization;
using Npgsql;

namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// Ids from a database sequence that counts in blocks of <see cref="BlockSize"/>: one
/// <c>nextval</c> reserves a block for this coordinator, whose ids are then handed out in
/// memory. Unique across coordinators; ascending within one; a block left unused is skipped.
/// </summary>
internal sealed class PostgresIdBlock(NpgsqlDataSource dataSource, string sequence, PostgresStoreStatistics statistics)
{
    /// <summary>The sequence's increment, set by the schema.</summary>
    public const int BlockSize = 100;

    private readonly SemaphoreSlim _refill = new(1, 1);
    private long _next;
    private long _end;

    public async ValueTask<long> NextAsync()
    {
        await _refill.WaitAsync();
        try
        {
            if (_next >= _end)
            {
                await using var command = dataSource.CreateCommand($"SELECT nextval('{sequence}')");
                statistics.RoundTrip(1);
                var start = Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
                _next = start;
                _end = start + BlockSize;
            }
            return _next++;
        }
        finally
        {
            _refill.Release();
        }
    }
}
