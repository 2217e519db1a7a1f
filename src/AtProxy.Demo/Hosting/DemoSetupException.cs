namespace AtProxy.Demo.Hosting;

/// <summary>The demo could not set up its servers; the message says what is missing or what failed.</summary>
internal sealed class DemoSetupException(string message) : Exception(message);
