using System.Data.Common;

namespace AtProxy.Phase1;

/// <summary>What the application asked to run: one command's text with its parameters (a batch has several).</summary>
internal readonly record struct StatementUnit(string CommandText, DbParameterCollection Parameters, int CommandTimeout);
