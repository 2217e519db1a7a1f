namespace AtProxy.Coordination;

/// <summary>
/// The coordinator answered the call stream UNIMPLEMENTED (it is older, or told not to serve it):
/// the call was not run and goes as a unary call instead.
/// </summary>
internal sealed class CallStreamUnsupportedException() : Exception("The coordinator does not serve the call stream; calls go as unary calls.");
