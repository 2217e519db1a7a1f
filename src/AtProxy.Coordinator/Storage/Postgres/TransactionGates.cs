namespace AtProxy.Coordinator.Storage.Postgres;

/// <summary>
/// One gate per transaction held in this coordinator: scopes of one XID here run one after the
/// other, each reading what the previous one committed, so only another coordinator's change can
/// make a scope's write stale. A gate exists while someone holds or waits for it.
/// </summary>
internal sealed class TransactionGates
{
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    /// <summary>Waits for the transaction's gate; disposing the result lets the next one in.</summary>
    public async Task<IDisposable> EnterAsync(string xid, CancellationToken cancellationToken)
    {
        Gate gate;
        lock (_gates)
        {
            if (!_gates.TryGetValue(xid, out gate!))
            {
                gate = new Gate(this, xid);
                _gates[xid] = gate;
            }
            gate.Users++;
        }
        try
        {
            await gate.Semaphore.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(gate);
            throw;
        }
        return gate.Holding();
    }

    private void Leave(Gate gate)
    {
        lock (_gates)
        {
            if (--gate.Users == 0)
            {
                _gates.Remove(gate.Xid);
            }
        }
    }

    private sealed class Gate(TransactionGates owner, string xid)
    {
        public TransactionGates Owner { get; } = owner;

        public string Xid { get; } = xid;

        public SemaphoreSlim Semaphore { get; } = new(1, 1);

        // Holders and waiters, guarded by the owner's dictionary lock.
        public int Users { get; set; }

        public IDisposable Holding() => new Held(this);

        private sealed class Held(Gate gate) : IDisposable
        {
            private int _released;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                {
                    gate.Semaphore.Release();
                    gate.Owner.Leave(gate);
                }
            }
        }
    }
}
