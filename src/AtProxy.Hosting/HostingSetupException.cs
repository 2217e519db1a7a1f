namespace AtProxy.Hosting;

/// <summary>
/// A server or process could not be set up; the message says what is missing or what failed,
/// with the program's own output. An <see cref="InvalidOperationException"/>, as these failures
/// always were, so callers that caught that still do.
/// </summary>
/// <param name="message">What failed and why.</param>
/// <param name="innerException">The failure underneath, if any.</param>
public sealed class HostingSetupException(string message, Exception? innerException = null)
    : InvalidOperationException(message, innerException);
