using System.Data.Common;

namespace AtProxy.Resources;

/// <summary>
/// One live way of opening connections to a resource: a wrapped data source, a connection
/// template or an EF Core connection string. A resource runs phase 2 only while it has one.
/// </summary>
internal sealed class ResourceAttachment
{
    private readonly Action<Resource> _servedChanged;

    internal ResourceAttachment(Resource resource, Func<CancellationToken, ValueTask<DbConnection>> openConnection, Action<Resource> servedChanged)
    {
        Resource = resource;
        OpenConnection = openConnection;
        _servedChanged = servedChanged;
    }

    public Resource Resource { get; }

    internal Func<CancellationToken, ValueTask<DbConnection>> OpenConnection { get; }

    /// <summary>Set by <see cref="BeginClose"/>: no new phase-2 command is taken through this attachment.</summary>
    internal bool IsClosing { get; set; }

    /// <summary>
    /// Stops taking new phase-2 commands through this attachment; work already accepted (queued undo
    /// deletes) may still open connections with it until <see cref="Detach"/>.
    /// </summary>
    public void BeginClose()
    {
        if (Resource.BeginClose(this))
        {
            _servedChanged(Resource);
        }
    }

    /// <summary>Removes the attachment: its connections are no longer opened for anything.</summary>
    public void Detach()
    {
        if (Resource.Detach(this))
        {
            _servedChanged(Resource);
        }
    }
}
