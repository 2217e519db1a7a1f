namespace AtProxy.Coordinator.Storage;

/// <summary>
/// A change was not recorded because another coordinator sharing the store changed the same
/// transaction at the same time; nothing of it was written, and asking again sees the new state.
/// </summary>
internal sealed class StoreConflictException(string message) : Exception(message);
