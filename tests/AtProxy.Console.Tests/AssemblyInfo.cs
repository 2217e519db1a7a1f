using AtProxy.Testing;

[assembly: TestFramework(AtProxyTestFramework.TypeName, AtProxyTestFramework.AssemblyName)]
