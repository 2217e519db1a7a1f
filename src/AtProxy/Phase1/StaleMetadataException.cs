namespace AtProxy.Phase1;

/// <summary>
/// A statement's rows came from another table than the metadata AtProxy holds for its name (another
/// search path, the table created again, a column added): the metadata is read anew next time.
/// </summary>
internal sealed class StaleMetadataException(string message, Exception? innerException = null) : AtProxyException(message, innerException);
