using Grpc.Core;

namespace AtProxy.Coordinator.Security;

/// <summary>
/// Who made an intervention, for the history: the <c>atproxy-operator</c> metadata an admin
/// client sends (e.g. the CLI sends the user's name), else "operator".
/// </summary>
internal static class OperatorIdentity
{
    public const string MetadataKey = "atproxy-operator";
    private const int MaxLength = 128;

    public static string Of(ServerCallContext context)
    {
        var value = context.RequestHeaders.GetValue(MetadataKey);
        if (string.IsNullOrWhiteSpace(value))
        {
            return "operator";
        }
        var printable = new string(value.Where(c => c is >= ' ' and <= '~').Take(MaxLength).ToArray()).Trim();
        return printable.Length == 0 ? "operator" : printable;
    }
}
