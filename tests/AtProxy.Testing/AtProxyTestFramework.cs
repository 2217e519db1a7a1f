using System.Reflection;
using AtProxy.Testing.Postgres;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace AtProxy.Testing;

/// <summary>
/// The xunit framework of AtProxy's test assemblies: xunit's own, plus stopping the shared
/// servers when the assembly's tests are done. xunit v2 has no assembly fixture, and a
/// process-exit handler can be cut short by the test host, so the stop is done here, before
/// the run reports that it finished. Enable with
/// <c>[assembly: TestFramework(AtProxyTestFramework.TypeName, AtProxyTestFramework.AssemblyName)]</c>.
/// </summary>
public sealed class AtProxyTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    /// <summary>The full name of this type, for <c>TestFrameworkAttribute</c>.</summary>
    public const string TypeName = "AtProxy.Testing.AtProxyTestFramework";

    /// <summary>The assembly of this type, for <c>TestFrameworkAttribute</c>.</summary>
    public const string AssemblyName = "AtProxy.Testing";

    /// <inheritdoc />
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new Executor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Executor(AssemblyName assemblyName, ISourceInformationProvider sourceInformationProvider, IMessageSink diagnosticMessageSink)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformationProvider, diagnosticMessageSink)
    {
        protected override async void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        {
            using var runner = new AssemblyRunner(TestAssembly, testCases, DiagnosticMessageSink, executionMessageSink, executionOptions);
            await runner.RunAsync();
        }
    }

    private sealed class AssemblyRunner(ITestAssembly testAssembly, IEnumerable<IXunitTestCase> testCases, IMessageSink diagnosticMessageSink, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions)
        : XunitTestAssemblyRunner(testAssembly, testCases, diagnosticMessageSink, executionMessageSink, executionOptions)
    {
        protected override async Task BeforeTestAssemblyFinishedAsync()
        {
            await PostgresServer.StopSharedAsync();
            await base.BeforeTestAssemblyFinishedAsync();
        }
    }
}
