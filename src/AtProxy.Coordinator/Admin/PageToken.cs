using System.Buffers.Text;
using System.Text;

namespace AtProxy.Coordinator.Admin;

/// <summary>Opaque page tokens: the sort key of the last item of a page, so the next page starts after it.</summary>
internal static class PageToken
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public static int PageSize(int requested) => requested switch
    {
        0 => DefaultPageSize,
        < 0 or > MaxPageSize => throw CoordinatorErrors.InvalidArgument($"page_size must be 1..{MaxPageSize} (0 means {DefaultPageSize}); got {requested}."),
        _ => requested,
    };

    public static string Encode(params string[] parts) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('\u001f', parts)));

    public static string[]? Decode(string token, int parts)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token)).Split('\u001f');
            if (decoded.Length == parts)
            {
                return decoded;
            }
        }
        catch (FormatException)
        {
        }
        throw CoordinatorErrors.InvalidArgument("page_token is not a token this coordinator issued.");
    }
}
