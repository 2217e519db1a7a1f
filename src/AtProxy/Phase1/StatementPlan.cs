using AtProxy.Sql;

namespace AtProxy.Phase1;

/// <summary>
/// What the application asked to run, read and checked before anything runs: each unit's statements
/// (an unsupported construct was refused, naming it) and whether any of them needs the proxy at all.
/// </summary>
internal sealed class StatementPlan
{
    private StatementPlan(IReadOnlyList<StatementUnit> units, RecognizedCommand[] commands, bool needsProxy)
    {
        Units = units;
        Commands = commands;
        NeedsProxy = needsProxy;
    }

    public IReadOnlyList<StatementUnit> Units { get; }

    /// <summary>The statements of <see cref="Units"/>, in the same order.</summary>
    public IReadOnlyList<RecognizedCommand> Commands { get; }

    /// <summary>False when every statement is a plain read: the caller runs the units unchanged.</summary>
    public bool NeedsProxy { get; }

    /// <summary>Reads every unit's SQL; throws <see cref="AtProxyNotSupportedException"/> for what phase 1 cannot undo.</summary>
    public static StatementPlan Read(SqlRecognizer recognizer, IReadOnlyList<StatementUnit> units)
    {
        var commands = new RecognizedCommand[units.Count];
        var needsProxy = false;
        for (var i = 0; i < units.Count; i++)
        {
            var recognized = recognizer.Recognize(units[i].CommandText);
            // Refused before anything runs, naming the construct.
            recognized.EnsureSupported();
            commands[i] = recognized;
            needsProxy |= recognized.NeedsProxy;
        }
        return new StatementPlan(units, commands, needsProxy);
    }
}
