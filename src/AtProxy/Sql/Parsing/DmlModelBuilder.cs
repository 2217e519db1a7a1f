using Microsoft.SqlServer.TransactSql.ScriptDom;
using ParsedTable = Microsoft.SqlServer.TransactSql.ScriptDom.TableReference;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// Builds the <see cref="DmlStatement"/> of a parsed statement: the statement form, table and
/// column names from ScriptDom's tree; value expressions, conditions and the PostgreSQL-only
/// clauses from the masker's token ranges. Every span points into the original text.
/// </summary>
internal sealed class DmlModelBuilder
{
    private readonly StatementContext _context;
    private readonly StatementTokens _tokens;
    private readonly StatementShape _shape;
    private readonly ExpressionReader _expressions;

    private DmlModelBuilder(StatementContext context, StatementTokens tokens, StatementShape shape)
    {
        _context = context;
        _tokens = tokens;
        _shape = shape;
        _expressions = new ExpressionReader(tokens, shape.Parameters, shape.Masks);
    }

    /// <summary>Builds the model of <paramref name="statement"/>.</summary>
    public static DmlStatement Build(StatementContext context, StatementTokens tokens, StatementShape shape, TSqlStatement statement)
    {
        var builder = new DmlModelBuilder(context, tokens, shape);
        return statement switch
        {
            UpdateStatement update => builder.BuildUpdate(update),
            DeleteStatement delete => builder.BuildDelete(delete),
            InsertStatement insert => builder.BuildInsert(insert),
            SelectStatement select => builder.BuildSelect(select),
            _ => builder.Refused(DmlKind.PassThrough, "This statement form", context.Span.Start),
        };
    }

    private DmlStatement BuildUpdate(UpdateStatement update)
    {
        var spec = update.UpdateSpecification;
        if (spec.Target is not NamedTableReference target)
        {
            return Refused(DmlKind.Update, "UPDATE of something other than a table", spec.Target.StartOffset);
        }
        if (spec.SetClauses.Count != _shape.SetValues.Count)
        {
            return Refused(DmlKind.Update, "This SET list", spec.SetClauses[0].StartOffset);
        }
        var set = new List<ColumnAssignment>();
        for (var i = 0; i < spec.SetClauses.Count; i++)
        {
            var clause = spec.SetClauses[i];
            if (clause is not AssignmentSetClause { Column: { } column, Variable: null, AssignmentKind: AssignmentKind.Equals })
            {
                return Refused(DmlKind.Update, "This SET item", clause.StartOffset);
            }
            var (from, to) = _shape.SetValues[i];
            set.Add(new ColumnAssignment(
                Identifiers.Fold(column.MultiPartIdentifier.Identifiers[^1]),
                SpanOf(column.MultiPartIdentifier.Identifiers[^1]),
                _expressions.FromTokens(from, to)));
        }
        if (spec.WhereClause is { Cursor: not null } cursorWhere)
        {
            return Refused(DmlKind.Update, "WHERE CURRENT OF", cursorWhere.StartOffset);
        }
        return Complete(DmlKind.Update, TableOf(target, _shape.TargetAlias) with { Only = _shape.TargetOnly }) with
        {
            Set = set,
            Where = Range(_shape.Where),
            FromList = Range(_shape.FromList),
            JoinedTables = TablesOf(spec.FromClause),
            Returning = ReadReturning(),
        };
    }

    private DmlStatement BuildDelete(DeleteStatement delete)
    {
        var spec = delete.DeleteSpecification;
        if (spec.Target is not NamedTableReference target)
        {
            return Refused(DmlKind.Delete, "DELETE from something other than a table", spec.Target.StartOffset);
        }
        if (spec.WhereClause is { Cursor: not null } cursorWhere)
        {
            return Refused(DmlKind.Delete, "WHERE CURRENT OF", cursorWhere.StartOffset);
        }
        return Complete(DmlKind.Delete, TableOf(target, _shape.TargetAlias) with { Only = _shape.TargetOnly }) with
        {
            Where = Range(_shape.Where),
            FromList = Range(_shape.FromList),
            JoinedTables = TablesOf(spec.FromClause),
            Returning = ReadReturning(),
        };
    }

    private DmlStatement BuildInsert(InsertStatement insert)
    {
        var spec = insert.InsertSpecification;
        var kind = _shape.OnConflict is null ? DmlKind.Insert : DmlKind.Upsert;
        if (spec.Target is not NamedTableReference target)
        {
            return Refused(kind, "INSERT into something other than a table", spec.Target.StartOffset);
        }
        if (spec.InsertSource is SelectInsertSource select)
        {
            return Refused(kind, "INSERT ... SELECT", select.StartOffset,
                "the inserted rows are not known before it runs; insert with VALUES instead");
        }
        if (spec.InsertSource is not ValuesInsertSource values)
        {
            return Refused(kind, "This INSERT source", spec.InsertSource.StartOffset);
        }
        var columns = spec.Columns.Select(c => Identifiers.Fold(c.MultiPartIdentifier.Identifiers[^1])).ToList();
        if (values.RowValues.Count != _shape.ValuesRows.Count
            || values.RowValues.Where((row, i) => row.ColumnValues.Count != _shape.ValuesRows[i].Count).Any())
        {
            return Refused(kind, "This VALUES list", values.StartOffset);
        }
        var rows = _shape.ValuesRows
            .Select(row => (IReadOnlyList<SqlExpression>)row.Select(item => _expressions.FromTokens(item.From, item.To)).ToList())
            .ToList();

        OnConflictClause? onConflict = null;
        if (_shape.OnConflict is var (from, to))
        {
            onConflict = OnConflictReader.Read(_tokens, _expressions, from, to, out var errorAt, out var error);
            if (onConflict is null)
            {
                return Refused(kind, "This ON CONFLICT clause", _tokens.StartOrEnd(errorAt), error);
            }
        }
        return Complete(kind, TableOf(target, _shape.TargetAlias)) with
        {
            InsertColumns = columns,
            ValuesRows = rows,
            IsDefaultValues = values.IsDefaultValues,
            OnConflict = onConflict,
            Returning = ReadReturning(),
        };
    }

    private DmlStatement BuildSelect(SelectStatement select)
    {
        if (select.Into is not null)
        {
            return Refused(DmlKind.SelectForUpdate, "SELECT ... INTO", select.Into.StartOffset);
        }
        if (select.QueryExpression is not QuerySpecification query)
        {
            return Refused(DmlKind.SelectForUpdate, "FOR UPDATE on a set operation (UNION, INTERSECT, EXCEPT)", select.QueryExpression.StartOffset);
        }
        var locks = new List<RowLockClause>();
        SqlExpression? limit = null;
        if (_shape.SelectTail >= 0 && !SelectTailReader.Read(_tokens, _expressions, _shape.SelectTail, locks, out limit, out var errorAt))
        {
            return Refused(DmlKind.SelectForUpdate, "This clause after SELECT", _tokens.StartOrEnd(errorAt));
        }
        _shape.Masks.AddRange(locks.Select(l => new MaskedConstruct(MaskKind.RowLock, l.Span)));
        if (limit is not null)
        {
            _shape.Masks.Add(new MaskedConstruct(MaskKind.Limit, limit.Span));
        }
        _shape.Masks.Sort((a, b) => a.Span.Start.CompareTo(b.Span.Start));
        var tables = TablesOf(query.FromClause);
        var lockedName = locks.SelectMany(l => l.OfTables).FirstOrDefault();
        var target = lockedName is null ? tables.FirstOrDefault() : tables.FirstOrDefault(t => t.Qualifier == lockedName);
        if (target is null)
        {
            return Refused(DmlKind.SelectForUpdate, "FOR UPDATE without a table to lock", query.StartOffset);
        }
        return Complete(DmlKind.SelectForUpdate, target) with
        {
            Where = Range(_shape.Where),
            FromList = Range(_shape.FromList),
            JoinedTables = tables.Where(t => !ReferenceEquals(t, target)).ToList(),
            OrderBy = Range(_shape.OrderBy),
            Limit = limit,
            RowLocks = locks,
        };
    }

    private List<TableReference> TablesOf(FromClause? from)
    {
        var tables = new List<TableReference>();
        if (from is not null)
        {
            foreach (var reference in from.TableReferences)
            {
                CollectTables(reference, tables);
            }
        }
        return tables;
    }

    private SqlExpression? Range((int From, int To)? range) =>
        range is var (from, to) && from <= to ? _expressions.FromTokens(from, to) : null;

    private void CollectTables(ParsedTable reference, List<TableReference> tables)
    {
        switch (reference)
        {
            case NamedTableReference named:
                tables.Add(TableOf(named, null));
                break;
            case JoinTableReference join:
                CollectTables(join.FirstTableReference, tables);
                CollectTables(join.SecondTableReference, tables);
                break;
            case JoinParenthesisTableReference parenthesis:
                CollectTables(parenthesis.Join, tables);
                break;
        }
    }

    private TableReference TableOf(NamedTableReference named, string? maskedAlias)
    {
        var name = named.SchemaObject;
        var alias = maskedAlias ?? (named.Alias is null ? null : Identifiers.Fold(named.Alias));
        return new TableReference(
            name.SchemaIdentifier is null ? null : Identifiers.Fold(name.SchemaIdentifier),
            Identifiers.Fold(name.BaseIdentifier),
            alias,
            SpanOf(name));
    }

    private SqlExpression? ReadReturning()
    {
        var returning = _shape.Returning;
        if (returning < 0 || returning + 1 >= _tokens.Count)
        {
            return null;
        }
        return _expressions.FromTokens(returning + 1, _tokens.Count - 1);
    }

    private static TextSpan SpanOf(TSqlFragment fragment) => new(fragment.StartOffset, fragment.FragmentLength);

    private DmlStatement Complete(DmlKind kind, TableReference target) =>
        _context.Statement(kind) with { Target = target, Parameters = _shape.Parameters, Masks = _shape.Masks };

    private DmlStatement Refused(DmlKind kind, string construct, int offset, string? detail = null) =>
        _context.Statement(kind, _context.Refuse(construct, offset, detail)) with { Parameters = _shape.Parameters, Masks = _shape.Masks };
}
