using AtProxy.Protocol.V1;
using Google.Protobuf;

namespace AtProxy.Tests.Protocol;

public class ContractRoundTripTests
{
    [Fact]
    public void RegisterBranchRequest_survives_binary_serialization()
    {
        var request = new RegisterBranchRequest
        {
            Xid = "node-1:42",
            ResourceId = "inventory-db",
            ApplicationId = "inventory-service",
            LockKeys =
            {
                new LockKey { Table = "public.stock", PrimaryKey = "sku-1" },
                new LockKey { Table = "public.order_line", PrimaryKey = "7,a\\,b" },
            },
        };

        var bytes = request.ToByteArray();
        var parsed = RegisterBranchRequest.Parser.ParseFrom(bytes);

        Assert.Equal(request, parsed);
        Assert.Equal("7,a\\,b", parsed.LockKeys[1].PrimaryKey);
        Assert.NotSame(request, parsed);
    }

    [Fact]
    public void Stream_messages_keep_their_oneof_case()
    {
        var command = new CoordinatorMessage
        {
            Command = new BranchCommand
            {
                CorrelationId = 9,
                Action = BranchAction.Rollback,
                Xid = "node-1:43",
                BranchId = 1234567890123,
                ResourceId = "orders-db",
            },
        };
        var parsed = CoordinatorMessage.Parser.ParseFrom(command.ToByteArray());
        Assert.Equal(CoordinatorMessage.KindOneofCase.Command, parsed.KindCase);
        Assert.Equal(BranchAction.Rollback, parsed.Command.Action);
        Assert.Equal(1234567890123, parsed.Command.BranchId);

        var result = new ResourceManagerMessage
        {
            Result = new BranchCommandResult { CorrelationId = 9, Status = BranchStatus.PhaseTwoRollbackFailedUnretryable, Message = "dirty write" },
        };
        var parsedResult = ResourceManagerMessage.Parser.ParseFrom(result.ToByteArray());
        Assert.Equal(ResourceManagerMessage.KindOneofCase.Result, parsedResult.KindCase);
        Assert.Equal(BranchStatus.PhaseTwoRollbackFailedUnretryable, parsedResult.Result.Status);
    }

    [Fact]
    public void Global_statuses_follow_seata_names_and_order()
    {
        string[] expected =
        [
            "Unspecified", "Begin", "Committing", "CommitRetrying", "AsyncCommitting", "Rollbacking",
            "RollbackRetrying", "TimeoutRollbacking", "TimeoutRollbackRetrying", "Committed", "Rollbacked",
            "TimeoutRollbacked", "CommitFailed", "RollbackFailed", "Finished", "CommitRetryTimeout", "RollbackRetryTimeout",
        ];
        Assert.Equal(expected, Enum.GetNames<GlobalStatus>());
    }

    [Fact]
    public void Client_status_enum_mirrors_every_contract_status_by_number_and_name()
    {
        foreach (var status in Enum.GetValues<GlobalStatus>().Where(s => s != GlobalStatus.Unspecified))
        {
            Assert.Equal(status.ToString(), ((AtProxy.GlobalTransactionStatus)(int)status).ToString());
        }
        Assert.Equal(Enum.GetValues<GlobalStatus>().Length, Enum.GetValues<AtProxy.GlobalTransactionStatus>().Length);
    }

    [Fact]
    public void Json_form_uses_proto_field_names_for_tools()
    {
        var info = new LockInfo { ResourceId = "orders-db", Key = new LockKey { Table = "public.orders", PrimaryKey = "5" }, Xid = "n:1", BranchId = 2, AcquiredUnixMs = 1_700_000_000_000 };
        var json = new JsonFormatter(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true)).Format(info);
        Assert.Contains("\"resource_id\": \"orders-db\"", json);
        Assert.Equal(info, JsonParser.Default.Parse<LockInfo>(json));
    }
}
