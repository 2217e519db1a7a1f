namespace AtProxy.Transactions;

/// <summary>
/// The reason an application's rollback sends to the coordinator, which records it in the
/// transaction's history with the application as the actor: what a person reading the history
/// needs to tell why the application gave up.
/// </summary>
internal static class RollbackReason
{
    /// <summary>The coordinator's limit for a reason.</summary>
    public const int MaxLength = 1024;

    /// <summary>An explicit rollback that named no cause.</summary>
    public const string ByTheApplication = "rolled back by the application";

    /// <summary>A block left without a commit.</summary>
    public const string DisposedWithoutCommit = "rolled back by the application: the global transaction was disposed without a commit";

    /// <summary>The exception's type and message.</summary>
    public static string Of(Exception cause) => Limit($"{cause.GetType().FullName}: {cause.Message}");

    /// <summary>The text cut to <see cref="MaxLength"/>; empty or blank becomes <see cref="ByTheApplication"/>.</summary>
    public static string Limit(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? ByTheApplication
        : reason.Length <= MaxLength ? reason
        : string.Concat(reason.AsSpan(0, MaxLength - 1), "…");
}
