using System.Collections.Concurrent;
using System.Data.Common;

namespace AtProxy.Resources;

/// <summary>The resources (databases) this process has wrapped, by id.</summary>
internal sealed class ResourceRegistry(AtProxyClient client) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Resource> _resources = new(StringComparer.Ordinal);
    private readonly List<IDisposable> _templates = [];

    /// <summary>Raised when a resource id is seen for the first time (the phase-2 streams resubscribe).</summary>
    public event Action? Changed;

    public IReadOnlyCollection<string> Ids => _resources.Keys.ToArray();

    public Resource? Find(string id) => _resources.TryGetValue(id, out var resource) ? resource : null;

    /// <summary>Registers a resource whose phase-2 connections come from <paramref name="openConnection"/>.</summary>
    public Resource Register(string id, Func<CancellationToken, ValueTask<DbConnection>> openConnection)
    {
        ValidateId(id);
        var added = false;
        var resource = _resources.GetOrAdd(id, key =>
        {
            added = true;
            return new Resource(key, openConnection, client.Options);
        });
        if (added)
        {
            if (_resources.Count == 1)
            {
                WarmUpRecognizer();
            }
            Changed?.Invoke();
        }
        return resource;
    }

    // The parser's first use costs seconds of JIT and start-up; pay it in the background when the
    // first database is wrapped, not in the first global transaction's statements.
    private static void WarmUpRecognizer() => _ = Task.Run(() =>
    {
        const string sample = "UPDATE warm_up AS w SET v = v + @n WHERE k = @k RETURNING v; INSERT INTO warm_up (k, v) VALUES ($1, 1) ON CONFLICT (k) DO NOTHING";
        Sql.SqlRecognizer.RecognizeUncached(sample);
    });

    /// <summary>
    /// Registers a resource from a connection the application built: phase 2 opens clones of it
    /// (a clone keeps the credentials, which a connection string read back may have dropped).
    /// </summary>
    public Resource RegisterConnectionTemplate(string id, DbConnection connection)
    {
        if (Find(id) is { } existing)
        {
            return existing;
        }
        if (connection is not ICloneable cloneable)
        {
            throw new ArgumentException($"{connection.GetType().Name} cannot be cloned for phase-2 work; wrap a DbDataSource with AtProxyClient.Wrap instead.", nameof(connection));
        }
        var template = (DbConnection)cloneable.Clone();
        lock (_templates)
        {
            _templates.Add(template);
        }
        return Register(id, async ct =>
        {
            var opened = (DbConnection)((ICloneable)template).Clone();
            await opened.OpenAsync(ct);
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
        lock (_templates)
        {
            foreach (var template in _templates)
            {
                template.Dispose();
            }
            _templates.Clear();
        }
        return ValueTask.CompletedTask;
    }
}
