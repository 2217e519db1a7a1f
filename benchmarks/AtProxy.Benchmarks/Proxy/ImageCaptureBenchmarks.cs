using AtProxy.Benchmarks.Undo;
using System.Globalization;
using AtProxy.Phase1;
using AtProxy.Hosting;
using AtProxy.Images;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Sql;
using AtProxy.Sql.Dialects;
using BenchmarkDotNet.Attributes;
using Npgsql;

namespace AtProxy.Benchmarks.Proxy;

/// <summary>
/// What capturing the images of an UPDATE of <see cref="Rows"/> rows costs on a real PostgreSQL
/// server, against the same UPDATE run plainly (the baseline) in the same run. The images go
/// through the engine's own code: the dialect builds the SQL (the before image splices the
/// statement's WHERE, selects every column as <c>::text</c> and locks <c>FOR UPDATE</c>; the
/// statement returns its whole row as text, the after image) and <see cref="ImageReader"/> runs
/// both in one round trip and reads the rows into undo rows. A plain SELECT of the rows, and the
/// rollback's dirty check (the rows by key, <c>FOR UPDATE</c>), are measured beside them. Every
/// operation is one short local transaction on one open connection, rolled back at its end.
/// </summary>
[MemoryDiagnoser]
public class ImageCaptureBenchmarks
{
    private const string Update = $"UPDATE {RepresentativeTable.Name} SET amount = amount + 1 WHERE id BETWEEN @lo AND @hi";
    private const string Select = $"SELECT {RepresentativeTable.Columns} FROM {RepresentativeTable.Name} WHERE id BETWEEN @lo AND @hi";
    private PostgresInstance _server = null!;
    private ScratchDatabase _database = null!;
    private NpgsqlConnection _connection = null!;
    private NpgsqlCommand _userCommand = null!;
    private DmlStatement _statement = null!;
    private List<IReadOnlyList<string>> _keys = [];

    [Params(1, 10, 100)]
    public int Rows { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _server = await PostgresInstance.StartAsync();
        _database = await _server.CreateDatabaseAsync("bench");
        _connection = new NpgsqlConnection(_database.ConnectionString);
        await _connection.OpenAsync();
        await using (var create = new NpgsqlCommand(RepresentativeTable.CreateSql(10_000), _connection))
        {
            await create.ExecuteNonQueryAsync();
        }
        // The application's statement, as the engine receives it: text and parameters.
        _userCommand = new NpgsqlCommand(Update);
        _userCommand.Parameters.Add(new NpgsqlParameter<long>("lo", 1));
        _userCommand.Parameters.Add(new NpgsqlParameter<long>("hi", Rows));
        _statement = SqlRecognizer.Shared.Recognize(Update).Statements.Single();
        _keys = Enumerable.Range(1, Rows).Select(id => (IReadOnlyList<string>)[id.ToString(CultureInfo.InvariantCulture)]).ToList();
        await CanonicalText.EnsureFunctionsAsync(_connection, "\"public\"", CancellationToken.None);
        // The images must read what the catalog says, or the benchmark would measure the wrong SQL.
        var catalog = await PostgresMetadataReader.ReadAsync(_connection, null, "public", null, RepresentativeTable.Name, CancellationToken.None);
        if (!catalog.Columns.Select(c => (c.Name, c.DataType)).SequenceEqual(RepresentativeTable.Metadata.Columns.Select(c => (c.Name, c.DataType))))
        {
            throw new InvalidOperationException("RepresentativeTable.Metadata does not match the catalog.");
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _userCommand.DisposeAsync();
        await _connection.DisposeAsync();
        await _database.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "plain UPDATE")]
    public async Task<int> PlainUpdate()
    {
        await using var transaction = await _connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(Update, _connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long>("lo", 1));
        command.Parameters.Add(new NpgsqlParameter<long>("hi", Rows));
        var count = await command.ExecuteNonQueryAsync();
        await transaction.RollbackAsync();
        return count == Rows ? count : throw new InvalidOperationException($"Updated {count} rows, expected {Rows}.");
    }

    [Benchmark(Description = "UPDATE with before and after image (ImageReader)")]
    public async Task<int> UpdateWithImages()
    {
        await using var transaction = await _connection.BeginTransactionAsync();
        var reader = NewImageReader(transaction);
        var dialect = Dialect;
        var (before, _, result, written) = await reader.RunWithImagesAsync(
            dialect.BuildBeforeImage(_statement, reader.Table), dialect.BuildImageReturning(_statement, reader.Table), CancellationToken.None);
        await transaction.RollbackAsync();
        return before.Count == Rows && written.Count == Rows && result.RecordsAffected == Rows
            ? Rows
            : throw new InvalidOperationException($"Imaged {before.Count}/{written.Count} rows, expected {Rows}.");
    }

    [Benchmark(Description = "plain SELECT, typed values")]
    public Task<int> PlainSelect() => SelectAsync(Select);

    [Benchmark(Description = "dirty check by key (rollback)")]
    public async Task<int> DirtyCheck()
    {
        await using var transaction = await _connection.BeginTransactionAsync();
        await using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        Dialect.BuildDirtyCheck(RepresentativeTable.Metadata, _keys).Apply(command);
        var rows = new List<UndoRow>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add(AtProxy.Undo.RowImage.ReadRecord(reader, 0, RepresentativeTable.Metadata.Columns.Count));
            }
        }
        await transaction.RollbackAsync();
        return Check(rows);
    }

    private static readonly PostgresDialect Dialect = new("public");

    private ImageReader NewImageReader(NpgsqlTransaction transaction) =>
        new(_connection, transaction, new StatementUnit(Update, _userCommand.Parameters, 30), Dialect, RepresentativeTable.Metadata);

    private async Task<int> SelectAsync(string sql)
    {
        await using var transaction = await _connection.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(sql, _connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<long>("lo", 1));
        command.Parameters.Add(new NpgsqlParameter<long>("hi", Rows));
        var count = 0;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            var values = new object[reader.FieldCount];
            while (await reader.ReadAsync())
            {
                reader.GetValues(values);
                count++;
            }
        }
        await transaction.RollbackAsync();
        return count == Rows ? count : throw new InvalidOperationException($"Read {count} rows, expected {Rows}.");
    }

    private int Check(List<UndoRow> rows) =>
        rows.Count == Rows ? rows.Count : throw new InvalidOperationException($"Imaged {rows.Count} rows, expected {Rows}.");
}
