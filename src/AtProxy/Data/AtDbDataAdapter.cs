using System.Data.Common;

namespace AtProxy;

/// <summary>
/// A data adapter over <see cref="AtDbCommand"/>s, so <c>Fill</c> and <c>Update</c> go through the
/// proxy like any other command: inside a global transaction, <c>Update</c>'s writes are branches of it.
/// Made by <see cref="AtDbProviderFactory.CreateDataAdapter"/> or directly.
/// </summary>
public sealed class AtDbDataAdapter : DbDataAdapter
{
    /// <summary>An adapter whose commands are set later.</summary>
    public AtDbDataAdapter()
    {
    }

    /// <summary>An adapter that fills with <paramref name="selectCommand"/>.</summary>
    public AtDbDataAdapter(AtDbCommand selectCommand)
    {
        SelectCommand = selectCommand;
    }

    /// <summary>Raised before each row's command runs (an <see cref="AtDbCommandBuilder"/> builds the command here).</summary>
    public event EventHandler<RowUpdatingEventArgs>? RowUpdating;

    /// <summary>Raised after each row's command ran.</summary>
    public event EventHandler<RowUpdatedEventArgs>? RowUpdated;

    /// <inheritdoc />
    protected override void OnRowUpdating(RowUpdatingEventArgs value) => RowUpdating?.Invoke(this, value);

    /// <inheritdoc />
    protected override void OnRowUpdated(RowUpdatedEventArgs value) => RowUpdated?.Invoke(this, value);
}
