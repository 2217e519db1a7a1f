using AtProxy.Metadata;
using AtProxy.Protocol.V1;

namespace AtProxy.Undo;

/// <summary>
/// An undo record carries its table's shape (columns with their types, generated and identity
/// flags, primary key), so rollback builds its SQL from the record alone, without the catalog.
/// </summary>
internal static class UndoRecordTable
{
    /// <summary>An empty record of one statement on <paramref name="table"/>.</summary>
    public static UndoRecord NewRecord(TableMetadata table, UndoKind kind)
    {
        var record = new UndoRecord { Schema = table.Schema, Table = table.Name, Kind = kind };
        foreach (var column in table.Columns)
        {
            record.Columns.Add(new UndoColumn { Name = column.Name, DataType = column.DataType, Generated = column.IsGenerated, IdentityAlways = column.IsIdentityAlways });
        }
        record.PrimaryKey.AddRange(table.PrimaryKey.Select(k => k.Name));
        return record;
    }

    /// <summary>
    /// The table as the record describes it: what generated SQL needs. Nullability and defaults are
    /// not recorded (rollback writes every value back), so they are given as nullable, no default.
    /// </summary>
    public static TableMetadata TableOf(UndoRecord record)
    {
        var columns = record.Columns
            .Select((c, i) => new ColumnMetadata(c.Name, i + 1, c.DataType, IsNullable: true, HasDefault: false, c.Generated, c.IdentityAlways))
            .ToList();
        var primaryKey = record.PrimaryKey
            .Select(name => columns.FirstOrDefault(c => c.Name == name)
                ?? throw new AtProxyException($"Undo record of {record.Schema}.{record.Table} has no column {name} of its primary key."))
            .ToList();
        return new TableMetadata(record.Schema, record.Table, columns, primaryKey);
    }
}
