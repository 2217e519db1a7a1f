namespace AtProxy.Coordinator.Storage;

/// <summary>The store cannot make records durable any more (a write or flush failed); nothing more is accepted.</summary>
internal sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
