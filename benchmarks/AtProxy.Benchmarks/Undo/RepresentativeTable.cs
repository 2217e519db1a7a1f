using System.Globalization;
using AtProxy.Metadata;
using AtProxy.Protocol.V1;
using AtProxy.Undo;

namespace AtProxy.Benchmarks.Undo;

/// <summary>
/// The table the image and undo benchmarks share: a bigint key and one column of each type an
/// application commonly writes (integer, text, numeric, timestamptz, uuid, jsonb, bytea), about
/// 250 bytes of text per row. Values are pseudo-random but fixed, so gzip sees realistic entropy
/// and every run measures the same bytes.
/// </summary>
internal static class RepresentativeTable
{
    public const string Name = "bench_rows";

    /// <summary>Creates the table and fills it with <paramref name="rows"/> rows, ids 1 to rows.</summary>
    public static string CreateSql(int rows) => $"""
        CREATE TABLE {Name} (
            id          bigint        PRIMARY KEY,
            tenant_id   integer       NOT NULL,
            name        text          NOT NULL,
            amount      numeric(12,2) NOT NULL,
            updated_at  timestamptz   NOT NULL,
            ref         uuid          NOT NULL,
            attributes  jsonb         NOT NULL,
            payload     bytea         NOT NULL);
        INSERT INTO {Name}
        SELECT i,
               i % 97,
               'customer ' || i || ' ' || md5(i::text),
               round((random() * 100000)::numeric, 2),
               timestamptz '2026-01-01 00:00:00+00' + i * interval '17 seconds',
               md5('ref' || i)::uuid,
               jsonb_build_object('sku', 'sku-' || lpad(i::text, 6, '0'), 'color', (ARRAY['red', 'green', 'blue'])[1 + i % 3],
                                  'tags', jsonb_build_array('large', 'fragile'), 'weight', round((random() * 50)::numeric, 1)),
               decode(md5(i::text) || md5((i + 1)::text), 'hex')
        FROM generate_series(1, {rows.ToString(CultureInfo.InvariantCulture)}) i;
        ANALYZE {Name};
        """;

    /// <summary>The column list in table order, for plain SELECTs of the same rows.</summary>
    public const string Columns = "id, tenant_id, name, amount, updated_at, ref, attributes, payload";

    /// <summary>The table as the catalog reader would describe it.</summary>
    public static TableMetadata Metadata { get; } = CreateMetadata();

    private static TableMetadata CreateMetadata()
    {
        ColumnMetadata[] columns =
        [
            new("id", 1, "bigint", IsNullable: false, HasDefault: false),
            new("tenant_id", 2, "integer", IsNullable: false, HasDefault: false),
            new("name", 3, "text", IsNullable: false, HasDefault: false),
            new("amount", 4, "numeric(12,2)", IsNullable: false, HasDefault: false),
            new("updated_at", 5, "timestamp with time zone", IsNullable: false, HasDefault: false),
            new("ref", 6, "uuid", IsNullable: false, HasDefault: false),
            new("attributes", 7, "jsonb", IsNullable: false, HasDefault: false),
            new("payload", 8, "bytea", IsNullable: false, HasDefault: false),
        ];
        return new TableMetadata("public", Name, columns, [columns[0]]);
    }

    /// <summary>
    /// The undo log of one branch that updated <paramref name="rows"/> rows in one statement: one
    /// record with a before and an after image per row, values as PostgreSQL's output functions print them.
    /// </summary>
    public static BranchUndoLog UpdateLog(int rows)
    {
        var random = new Random(rows);
        var record = UndoRecordTable.NewRecord(Metadata, UndoKind.Update);
        for (var i = 1; i <= rows; i++)
        {
            var before = Row(i, random);
            var after = before.Clone();
            after.Values[3] = RowImage.Value(Amount(random));
            after.Values[4] = RowImage.Value("2026-11-25 10:55:00.123456+00");
            record.Before.Add(before);
            record.After.Add(after);
        }
        var log = new BranchUndoLog { Xid = "127.0.0.1:8091:tc:4711", BranchId = 4712 };
        log.Records.Add(record);
        return log;
    }

    private static UndoRow Row(int id, Random random)
    {
        var row = new UndoRow();
        row.Values.Add(RowImage.Value(id.ToString(CultureInfo.InvariantCulture)));
        row.Values.Add(RowImage.Value((id % 97).ToString(CultureInfo.InvariantCulture)));
        row.Values.Add(RowImage.Value($"customer {id} {Hex(random, 16)}"));
        row.Values.Add(RowImage.Value(Amount(random)));
        row.Values.Add(RowImage.Value(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(id * 17).ToString("yyyy-MM-dd HH:mm:ss+00", CultureInfo.InvariantCulture)));
        row.Values.Add(RowImage.Value(new Guid(Bytes(random, 16)).ToString()));
        row.Values.Add(RowImage.Value($$"""{"sku": "sku-{{id:D6}}", "tags": ["large", "fragile"], "color": "{{(id % 3 == 0 ? "red" : "blue")}}", "weight": {{random.Next(10, 500) / 10.0}}}"""));
        row.Values.Add(RowImage.Value("\\x" + Hex(random, 32)));
        return row;
    }

    private static string Amount(Random random) =>
        (random.Next(0, 10_000_000) / 100m).ToString("0.00", CultureInfo.InvariantCulture);

    private static byte[] Bytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Hex(Random random, int byteCount) => Convert.ToHexStringLower(Bytes(random, byteCount));
}
