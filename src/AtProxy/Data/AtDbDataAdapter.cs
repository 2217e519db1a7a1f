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
}
