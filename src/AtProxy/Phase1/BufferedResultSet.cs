namespace AtProxy.Phase1;

/// <summary>The rows one statement returned, read completely so the images could be taken around it.</summary>
internal sealed class BufferedResultSet(string[] names, Type[] types, string[] dataTypeNames, List<object[]> rows, int recordsAffected)
{
    public string[] Names { get; } = names;

    public Type[] Types { get; } = types;

    public string[] DataTypeNames { get; } = dataTypeNames;

    public List<object[]> Rows { get; } = rows;

    public int RecordsAffected { get; } = recordsAffected;

    /// <summary>A copy that reports <paramref name="count"/> rows affected (a batch counts per command).</summary>
    public BufferedResultSet WithRecordsAffected(int count) => new(Names, Types, DataTypeNames, Rows, count);

    /// <summary>An empty result (the statement returned no rows to the application) that affected <paramref name="count"/> rows.</summary>
    public static BufferedResultSet NoRows(int count) => new([], [], [], [], count);

    /// <summary>
    /// Reads the reader's current result set: its first <paramref name="visibleColumns"/> columns are
    /// the application's; <paramref name="readHidden"/> sees each row for the columns after them.
    /// </summary>
    public static async Task<BufferedResultSet> ReadAsync(System.Data.Common.DbDataReader reader, int visibleColumns, CancellationToken cancellationToken,
        Action<System.Data.Common.DbDataReader>? readHidden = null)
    {
        var names = new string[visibleColumns];
        var types = new Type[visibleColumns];
        var dataTypeNames = new string[visibleColumns];
        for (var i = 0; i < visibleColumns; i++)
        {
            names[i] = reader.GetName(i);
            types[i] = reader.GetFieldType(i);
            dataTypeNames[i] = reader.GetDataTypeName(i);
        }
        var rows = new List<object[]>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var values = new object[visibleColumns];
            for (var i = 0; i < visibleColumns; i++)
            {
                values[i] = reader.GetValue(i);
            }
            rows.Add(values);
            readHidden?.Invoke(reader);
        }
        return new BufferedResultSet(names, types, dataTypeNames, rows, reader.RecordsAffected);
    }
}
