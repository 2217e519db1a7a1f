namespace AtProxy.Demo.Contracts;

/// <summary>The order service's answer to <c>POST /orders</c>.</summary>
/// <param name="Outcome">How the order ended.</param>
/// <param name="Xid">The global transaction's id; null without AtProxy.</param>
/// <param name="Detail">The error message of a failed order.</param>
public sealed record OrderResult(OrderOutcome Outcome, string? Xid, string? Detail);
