using AtProxy.Protocol.V1;

namespace AtProxy.Cli.Undo;

/// <summary>One branch's undo images as its resource manager reported them through the coordinator.</summary>
internal sealed record BranchImages(string Xid, BranchInfo Branch, GetBranchUndoResponse Images, TransactionOutcome Outcome);
