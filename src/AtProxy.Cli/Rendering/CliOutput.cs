using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace AtProxy.Cli.Rendering;

/// <summary>Standard output as tables (Spectre.Console) or as JSON; never both in one run.</summary>
internal sealed class CliOutput
{
    // Piped output is read by grep and scripts: wide enough that rows do not wrap.
    private const int RedirectedWidth = 240;

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private CliOutput(IAnsiConsole console, bool json)
    {
        Console = console;
        IsJson = json;
    }

    /// <summary>Where tables go.</summary>
    public IAnsiConsole Console { get; }

    public bool IsJson { get; }

    public static CliOutput Create(bool json)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Out = new AnsiConsoleOutput(System.Console.Out),
        });
        if (System.Console.IsOutputRedirected)
        {
            console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 40 ? columns : RedirectedWidth;
        }
        return new CliOutput(console, json);
    }

    public void WriteJson<T>(T value)
    {
        System.Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        System.Console.Out.Flush();
    }
}
