using System.Reflection;

namespace AtProxy.Coordinator.OperatorConsole;

/// <summary>
/// The console's one stylesheet, compiled into the coordinator (no static-file folder to ship, no
/// CDN: the machines may be offline).
/// </summary>
internal static class ConsoleStylesheet
{
    public const string Path = "/console.css";

    private static readonly Lazy<byte[]> Content = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("AtProxy.Coordinator.OperatorConsole.console.css")
            ?? throw new InvalidOperationException("The console's stylesheet is not embedded in the coordinator.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static IResult Serve() => Results.Bytes(Content.Value, "text/css; charset=utf-8");
}
