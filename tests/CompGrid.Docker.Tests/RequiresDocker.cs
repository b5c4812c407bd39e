using CompGrid.Testing;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("CompGrid.Docker.Tests.SkipWithoutBackendFramework", "CompGrid.Docker.Tests")]

namespace CompGrid.Docker.Tests;

/// <summary>
/// On a test class whose facts are inherited (the conformance suite) and so cannot be <see cref="BackendFactAttribute"/>:
/// without the backend's variable, its facts are discovered as skipped with a message — except under
/// <c>COMPGRID_REQUIRE_BACKENDS=1</c>, where they run (and fail).
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class NeedsBackendAttribute(string backend, string environmentVariable) : Attribute
{
    public string Backend { get; } = backend;

    public string EnvironmentVariable { get; } = environmentVariable;
}

/// <summary>xunit's own framework with a discoverer that honours <see cref="NeedsBackendAttribute"/>.</summary>
public sealed class SkipWithoutBackendFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkDiscoverer CreateDiscoverer(IAssemblyInfo assemblyInfo) =>
        new SkippingDiscoverer(assemblyInfo, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class SkippingDiscoverer(IAssemblyInfo assembly, ISourceInformationProvider source, IMessageSink diagnostics)
        : XunitTestFrameworkDiscoverer(assembly, source, diagnostics)
    {
        protected override bool FindTestsForMethod(ITestMethod testMethod, bool includeSourceInformation, IMessageBus messageBus, ITestFrameworkDiscoveryOptions discoveryOptions)
        {
            var needs = testMethod.TestClass.Class.GetCustomAttributes(typeof(NeedsBackendAttribute)).FirstOrDefault();
            if (needs is null || BackendEnvironment.Required || !testMethod.Method.GetCustomAttributes(typeof(FactAttribute)).Any())
                return base.FindTestsForMethod(testMethod, includeSourceInformation, messageBus, discoveryOptions);
            var args = needs.GetConstructorArguments().Cast<string>().ToArray();
            if (BackendEnvironment.IsAvailable(args[1]))
                return base.FindTestsForMethod(testMethod, includeSourceInformation, messageBus, discoveryOptions);
            var skipped = new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(),
                testMethod, $"{args[0]} is not running ({args[1]} is unset); start it with eng/test.sh, or set COMPGRID_REQUIRE_BACKENDS=1 to fail instead.");
            return ReportDiscoveredTestCase(skipped, includeSourceInformation, messageBus);
        }
    }
}
