using System.Collections.Concurrent;
using System.Data.Common;

namespace AtProxy.Resources;

/// <summary>The resources (databases) this process has wrapped, by id.</summary>
internal sealed class ResourceRegistry(AtProxyOptions options) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Resource> _resources = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DbConnection> _templates = new(StringComparer.Ordinal);

    /// <summary>
    /// Raised when a resource id starts or stops being served (a first live data source wraps it, or
    /// its last one is closing): the phase-2 streams subscribe again with <see cref="Ids"/>.
    /// </summary>
    public event Action? Changed;

    /// <summary>The ids of the resources served now: those with a live data source or template.</summary>
    public IReadOnlyCollection<string> Ids => _resources.Values.Where(r => r.IsServed).Select(r => r.Id).ToArray();

    public Resource? Find(string id) => _resources.TryGetValue(id, out var resource) ? resource : null;

    /// <summary>
    /// Attaches a way of opening connections to resource <paramref name="id"/> (created on first use);
    /// phase 2 uses the most recent live one until it is detached.
    /// </summary>
    public ResourceAttachment Attach(string id, Func<CancellationToken, ValueTask<DbConnection>> openConnection)
    {
        var resource = GetOrCreate(id);
        var attachment = new ResourceAttachment(resource, openConnection, OnServedChanged);
        if (resource.Attach(attachment))
        {
            OnServedChanged(resource);
        }
        return attachment;
    }

    private Resource GetOrCreate(string id)
    {
        ValidateId(id);
        var added = false;
        var resource = _resources.GetOrAdd(id, key =>
        {
            added = true;
            return new Resource(key, options);
        });
        if (added && _resources.Count == 1)
        {
            WarmUpRecognizer();
        }
        return resource;
    }

    /// <summary>Registers a resource whose phase-2 connections come from <paramref name="openConnection"/> for as long as this client lives.</summary>
    public Resource Register(string id, Func<CancellationToken, ValueTask<DbConnection>> openConnection) => Attach(id, openConnection).Resource;

    private void OnServedChanged(Resource resource) => Changed?.Invoke();

    // The parser's first use costs seconds of JIT and start-up; pay it in the background when the
    // first database is wrapped, not in the first global transaction's statements.
    private static void WarmUpRecognizer() => _ = Task.Run(() =>
    {
        const string sample = "UPDATE warm_up AS w SET v = v + @n WHERE k = @k RETURNING v; INSERT INTO warm_up (k, v) VALUES ($1, 1) ON CONFLICT (k) DO NOTHING";
        Sql.SqlRecognizer.RecognizeUncached(sample);
    });

    /// <summary>
    /// Registers a resource from a connection the application built: phase 2 opens clones of it
    /// (a clone keeps the credentials, which a connection string read back may have dropped). The
    /// first connection of an id is the template, attached until the client is disposed.
    /// </summary>
    public Resource RegisterConnectionTemplate(string id, DbConnection connection)
    {
        ValidateId(id);
        if (_templates.ContainsKey(id) && Find(id) is { } existing)
        {
            return existing;
        }
        if (connection is not ICloneable cloneable)
        {
            throw new ArgumentException($"{connection.GetType().Name} cannot be cloned for phase-2 work; wrap a DbDataSource with AtProxyClient.Wrap instead.", nameof(connection));
        }
        var template = (DbConnection)cloneable.Clone();
        if (!_templates.TryAdd(id, template))
        {
            template.Dispose();
            return GetOrCreate(id);
        }
        return Register(id, async ct =>
        {
            var opened = (DbConnection)((ICloneable)template).Clone();
            await opened.OpenAsync(ct).ConfigureAwait(false);
            return opened;
        });
    }

    private static void ValidateId(string id)
    {
        if (string.IsNullOrWhiteSpace(id) || id.Length > 128)
        {
            throw new ArgumentException("A resource id must be 1..128 characters, e.g. \"orders-db\".", nameof(id));
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var id in _templates.Keys)
        {
            if (_templates.TryRemove(id, out var template))
            {
                template.Dispose();
            }
        }
        return ValueTask.CompletedTask;
    }
}
