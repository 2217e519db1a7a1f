using System.Diagnostics;

namespace AtProxy.Diagnostics;

/// <summary>
/// AtProxy's tracing: one <see cref="ActivitySource"/> named "AtProxy" (add it to OpenTelemetry with
/// <c>AddSource("AtProxy")</c>). Spans carry the XID and branch id, so a global transaction shows up
/// next to the HTTP and SQL spans of every service it crosses.
/// </summary>
public static class AtProxyTelemetry
{
    /// <summary>The name of the activity source and meter.</summary>
    public const string SourceName = "AtProxy";

    /// <summary>Tag holding the XID.</summary>
    public const string XidTag = "atproxy.xid";

    /// <summary>Tag holding the branch id.</summary>
    public const string BranchIdTag = "atproxy.branch_id";

    /// <summary>Tag holding the resource id.</summary>
    public const string ResourceTag = "atproxy.resource";

    /// <summary>Tag holding a global or branch status.</summary>
    public const string StatusTag = "atproxy.status";

    internal static readonly ActivitySource Source = new(SourceName, typeof(AtProxyTelemetry).Assembly.GetName().Version?.ToString());

    internal static Activity? Start(string name, string? xid, ActivityKind kind = ActivityKind.Internal)
    {
        var activity = Source.StartActivity(name, kind);
        if (activity is not null && xid is not null)
        {
            activity.SetTag(XidTag, xid);
        }
        return activity;
    }

    internal static void Fail(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.AddException(exception);
    }
}
