using System.Data;
using System.Data.Common;

namespace AtProxy;

/// <summary>
/// Builds an <see cref="AtDbDataAdapter"/>'s INSERT, UPDATE and DELETE commands from its select
/// command, as the wrapped provider's command builder would; the commands run through the proxy.
/// Identifiers are quoted by the wrapped provider's rules.
/// </summary>
public sealed class AtDbCommandBuilder : DbCommandBuilder
{
    private readonly DbCommandBuilder? _wrapped;

    /// <summary>A builder quoting identifiers with double quotes (PostgreSQL's rule).</summary>
    public AtDbCommandBuilder()
        : this(wrapped: null)
    {
    }

    /// <summary>A builder for <paramref name="adapter"/>.</summary>
    public AtDbCommandBuilder(AtDbDataAdapter adapter)
        : this(wrapped: null)
    {
        DataAdapter = adapter;
    }

    internal AtDbCommandBuilder(DbCommandBuilder? wrapped)
    {
        _wrapped = wrapped;
        QuotePrefix = wrapped?.QuotePrefix is { Length: > 0 } prefix ? prefix : "\"";
        QuoteSuffix = wrapped?.QuoteSuffix is { Length: > 0 } suffix ? suffix : "\"";
    }

    /// <inheritdoc />
    public override string QuoteIdentifier(string unquotedIdentifier) =>
        _wrapped?.QuoteIdentifier(unquotedIdentifier) ?? QuotePrefix + unquotedIdentifier.Replace(QuoteSuffix, QuoteSuffix + QuoteSuffix, StringComparison.Ordinal) + QuoteSuffix;

    /// <inheritdoc />
    public override string UnquoteIdentifier(string quotedIdentifier) =>
        _wrapped?.UnquoteIdentifier(quotedIdentifier) ?? base.UnquoteIdentifier(quotedIdentifier);

    /// <summary>Nothing to add: the wrapped provider infers each parameter's type from its value.</summary>
    protected override void ApplyParameterInfo(DbParameter parameter, DataRow row, StatementType statementType, bool whereClause)
    {
    }

    /// <inheritdoc />
    protected override string GetParameterName(int parameterOrdinal) => "@p" + parameterOrdinal.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <inheritdoc />
    protected override string GetParameterName(string parameterName) => "@" + parameterName;

    /// <inheritdoc />
    protected override string GetParameterPlaceholder(int parameterOrdinal) => GetParameterName(parameterOrdinal);

    /// <inheritdoc />
    protected override void SetRowUpdatingHandler(DbDataAdapter adapter)
    {
        if (adapter is not AtDbDataAdapter at)
        {
            throw new ArgumentException($"An {nameof(AtDbCommandBuilder)} builds commands for an {nameof(AtDbDataAdapter)}; got {adapter.GetType().Name}.", nameof(adapter));
        }
        // Called with the old adapter when it is replaced, and with the new one.
        if (ReferenceEquals(adapter, DataAdapter))
        {
            at.RowUpdating -= OnRowUpdating;
        }
        else
        {
            at.RowUpdating += OnRowUpdating;
        }
    }

    private void OnRowUpdating(object? sender, RowUpdatingEventArgs e) => RowUpdatingHandler(e);
}
