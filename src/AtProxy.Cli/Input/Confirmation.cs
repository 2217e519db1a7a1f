namespace AtProxy.Cli.Input;

/// <summary>
/// Asks the operator before an intervention. The question goes to standard error and the
/// answer is read from standard input, so it works in a terminal and in a pipe alike; only
/// "y" or "yes" goes ahead, and no answer at all (end of input) means no.
/// </summary>
internal static class Confirmation
{
    public static bool Ask(string question)
    {
        Console.Error.Write($"{question} [y/N] ");
        Console.Error.Flush();
        var answer = Console.In.ReadLine();
        if (answer is null)
        {
            Console.Error.WriteLine();
        }
        return answer?.Trim().ToLowerInvariant() is "y" or "yes";
    }
}
