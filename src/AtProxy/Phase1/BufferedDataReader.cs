using System.Collections;
using System.Data.Common;

namespace AtProxy.Phase1;

/// <summary>
/// A reader over result sets the phase-1 engine read completely (a statement's own RETURNING rows,
/// or several statements of a batch). It returns exactly the columns the application asked for.
/// </summary>
internal sealed class BufferedDataReader(IReadOnlyList<BufferedResultSet> resultSets, DbConnection? closeOnDispose) : DbDataReader
{
    private int _set;
    private int _row = -1;
    private bool _closed;

    private BufferedResultSet? Current => _set < resultSets.Count ? resultSets[_set] : null;

    private object[] Row
    {
        get
        {
            var set = Current ?? throw new InvalidOperationException("No result set.");
            if (_row < 0 || _row >= set.Rows.Count)
            {
                throw new InvalidOperationException("No row is available; call Read first.");
            }
            return set.Rows[_row];
        }
    }

    public override int FieldCount => Current?.Names.Length ?? 0;

    public override int RecordsAffected
    {
        get
        {
            var total = -1;
            foreach (var set in resultSets)
            {
                if (set.RecordsAffected >= 0)
                {
                    total = Math.Max(total, 0) + set.RecordsAffected;
                }
            }
            return total;
        }
    }

    public override bool HasRows => Current is { Rows.Count: > 0 };

    public override bool IsClosed => _closed;

    public override int Depth => 0;

    public override object this[int ordinal] => GetValue(ordinal);

    public override object this[string name] => GetValue(GetOrdinal(name));

    public override bool Read()
    {
        if (Current is not { } set)
        {
            return false;
        }
        if (_row < set.Rows.Count)
        {
            _row++;
        }
        return _row < set.Rows.Count;
    }

    public override Task<bool> ReadAsync(CancellationToken cancellationToken) => Task.FromResult(Read());

    public override bool NextResult()
    {
        if (_set >= resultSets.Count)
        {
            return false;
        }
        _set++;
        _row = -1;
        return _set < resultSets.Count;
    }

    public override Task<bool> NextResultAsync(CancellationToken cancellationToken) => Task.FromResult(NextResult());

    public override string GetName(int ordinal) => Current!.Names[ordinal];

    public override int GetOrdinal(string name)
    {
        var names = Current?.Names ?? [];
        for (var i = 0; i < names.Length; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        for (var i = 0; i < names.Length; i++)
        {
            if (string.Equals(names[i], name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }
        throw new IndexOutOfRangeException($"No column named '{name}'.");
    }

    public override string GetDataTypeName(int ordinal) => Current!.DataTypeNames[ordinal];

    public override Type GetFieldType(int ordinal) => Current!.Types[ordinal];

    public override object GetValue(int ordinal) => Row[ordinal];

    public override int GetValues(object[] values)
    {
        var row = Row;
        var count = Math.Min(values.Length, row.Length);
        Array.Copy(row, values, count);
        return count;
    }

    public override bool IsDBNull(int ordinal) => Row[ordinal] is DBNull;

    public override Task<bool> IsDBNullAsync(int ordinal, CancellationToken cancellationToken) => Task.FromResult(IsDBNull(ordinal));

    public override T GetFieldValue<T>(int ordinal)
    {
        var value = Row[ordinal];
        if (value is DBNull)
        {
            if (default(T) is null)
            {
                return default!;
            }
            throw new InvalidCastException($"Column '{GetName(ordinal)}' is NULL.");
        }
        if (value is T typed)
        {
            return typed;
        }
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)Convert.ChangeType(value, target, System.Globalization.CultureInfo.InvariantCulture);
    }

    public override Task<T> GetFieldValueAsync<T>(int ordinal, CancellationToken cancellationToken) => Task.FromResult(GetFieldValue<T>(ordinal));

    public override bool GetBoolean(int ordinal) => GetFieldValue<bool>(ordinal);

    public override byte GetByte(int ordinal) => GetFieldValue<byte>(ordinal);

    public override char GetChar(int ordinal) => GetFieldValue<char>(ordinal);

    public override DateTime GetDateTime(int ordinal) => GetFieldValue<DateTime>(ordinal);

    public override decimal GetDecimal(int ordinal) => GetFieldValue<decimal>(ordinal);

    public override double GetDouble(int ordinal) => GetFieldValue<double>(ordinal);

    public override float GetFloat(int ordinal) => GetFieldValue<float>(ordinal);

    public override Guid GetGuid(int ordinal) => GetFieldValue<Guid>(ordinal);

    public override short GetInt16(int ordinal) => GetFieldValue<short>(ordinal);

    public override int GetInt32(int ordinal) => GetFieldValue<int>(ordinal);

    public override long GetInt64(int ordinal) => GetFieldValue<long>(ordinal);

    public override string GetString(int ordinal) => GetFieldValue<string>(ordinal);

    public override long GetBytes(int ordinal, long dataOffset, byte[]? buffer, int bufferOffset, int length)
    {
        var bytes = GetFieldValue<byte[]>(ordinal);
        if (buffer is null)
        {
            return bytes.Length;
        }
        var count = (int)Math.Max(0, Math.Min(length, bytes.Length - dataOffset));
        Array.Copy(bytes, dataOffset, buffer, bufferOffset, count);
        return count;
    }

    public override long GetChars(int ordinal, long dataOffset, char[]? buffer, int bufferOffset, int length)
    {
        var text = GetFieldValue<string>(ordinal);
        if (buffer is null)
        {
            return text.Length;
        }
        var count = (int)Math.Max(0, Math.Min(length, text.Length - dataOffset));
        text.CopyTo((int)dataOffset, buffer, bufferOffset, count);
        return count;
    }

    public override IEnumerator GetEnumerator() => new DbEnumerator(this, closeReader: false);

    public override void Close()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        closeOnDispose?.Close();
    }
}
