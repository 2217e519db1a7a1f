using Microsoft.SqlServer.TransactSql.ScriptDom;

namespace AtProxy.Sql.Parsing;

/// <summary>
/// Recognition of one command text, uncached: pre-scan, tokenize with ScriptDom, split into
/// statements at top-level semicolons, then classify, mask, parse and model each statement.
/// </summary>
internal static class CommandRecognition
{
    // ScriptDom parsers are not thread-safe but are reusable; one per thread avoids rebuilding it per call.
    [ThreadStatic]
    private static TSql160Parser? t_parser;

    /// <summary>Recognizes every statement of <paramref name="commandText"/>.</summary>
    public static RecognizedCommand Recognize(string commandText)
    {
        var parser = t_parser ??= new TSql160Parser(initialQuotedIdentifiers: true);
        var preMasks = new List<MaskedConstruct>();
        var scanned = PostgresPreScanner.Rewrite(commandText, preMasks);
        var tokens = parser.GetTokenStream(new StringReader(scanned), out var lexErrors);
        if (lexErrors.Count > 0)
        {
            return Unreadable(commandText, lexErrors[0]);
        }

        var statements = new List<DmlStatement>();
        foreach (var segment in Split(tokens))
        {
            var statementTokens = new StatementTokens(commandText, segment);
            if (statementTokens.Count == 0)
            {
                continue;
            }
            var span = TextSpan.FromBounds(statementTokens.Start(0), statementTokens.End(statementTokens.Count - 1));
            var masks = preMasks.Where(m => span.Contains(m.Span)).ToList();
            var context = new StatementContext(commandText, statements.Count, span);
            statements.Add(RecognizeStatement(parser, context, statementTokens, masks));
        }
        return new RecognizedCommand(commandText, statements);
    }

    private static DmlStatement RecognizeStatement(TSql160Parser parser, StatementContext context, StatementTokens tokens, List<MaskedConstruct> masks)
    {
        var route = StatementClassifier.Classify(tokens);
        if (route.Refused is not null)
        {
            return context.Statement(route.Kind, context.Refuse(route.Refused, tokens.StartOrEnd(route.RefusedAt)));
        }
        if (route.Kind == DmlKind.PassThrough)
        {
            return context.Statement(DmlKind.PassThrough);
        }

        if (tokens.IsUnbalanced)
        {
            // Clauses are found at parenthesis depth 0; with unbalanced parentheses that would be a guess.
            return context.Statement(route.Kind, context.Refuse("SQL the proxy cannot parse", context.Span.Start, "unbalanced parentheses"));
        }
        var shape = PostgresTokenMasker.Mask(tokens, route.Kind, masks);
        if (shape.Refusal is var (construct, at, detail))
        {
            return context.Statement(route.Kind, context.Refuse(construct, tokens.StartOrEnd(at), detail))
                with { Parameters = shape.Parameters, Masks = shape.Masks };
        }
        var fragment = parser.Parse(tokens.ForParser(), out var errors);
        if (errors.Count > 0)
        {
            var error = errors[0];
            return context.Statement(route.Kind, context.Refuse("SQL the proxy cannot parse", error.Offset, error.Message))
                with { Parameters = shape.Parameters, Masks = shape.Masks };
        }
        if (fragment is not TSqlScript { Batches: [{ Statements: [var statement] }] })
        {
            return context.Statement(route.Kind, context.Refuse("SQL the proxy cannot parse", context.Span.Start, "expected exactly one statement"));
        }
        return DmlModelBuilder.Build(context, tokens, shape, statement);
    }

    // Statements end at semicolons outside parentheses; strings and comments are single tokens,
    // so a semicolon inside them never counts.
    private static IEnumerable<List<TSqlParserToken>> Split(IList<TSqlParserToken> tokens)
    {
        var current = new List<TSqlParserToken>();
        var depth = 0;
        foreach (var token in tokens)
        {
            switch (token.TokenType)
            {
                case TSqlTokenType.LeftParenthesis:
                    depth++;
                    break;
                case TSqlTokenType.RightParenthesis:
                    depth = Math.Max(0, depth - 1);
                    break;
                case TSqlTokenType.Semicolon when depth == 0:
                    yield return current;
                    current = [];
                    continue;
                case TSqlTokenType.EndOfFile:
                    continue;
            }
            current.Add(token);
        }
        yield return current;
    }

    // The lexer gave up: nothing can be said about any statement, so the whole text is one
    // statement that passes through outside a global transaction and is refused inside one.
    private static RecognizedCommand Unreadable(string commandText, ParseError error)
    {
        var start = 0;
        while (start < commandText.Length && char.IsWhiteSpace(commandText[start]))
        {
            start++;
        }
        var end = commandText.Length;
        while (end > start && char.IsWhiteSpace(commandText[end - 1]))
        {
            end--;
        }
        var context = new StatementContext(commandText, 0, TextSpan.FromBounds(start, end));
        var statement = context.Statement(DmlKind.PassThrough, context.Refuse("SQL the proxy cannot read", error.Offset, error.Message));
        return new RecognizedCommand(commandText, [statement]);
    }
}
