global using AtProxy.Coordinator.Tests.Support;
global using AtProxy.Protocol.V1;
global using AtProxy.Testing;
global using Grpc.Core;
