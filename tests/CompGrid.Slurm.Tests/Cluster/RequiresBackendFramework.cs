using CompGrid.Testing;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("CompGrid.Slurm.Tests.Cluster.RequiresBackendTestFramework", "CompGrid.Slurm.Tests")]

namespace CompGrid.Slurm.Tests.Cluster;

/// <summary>
/// Marks a test class (for example one deriving the conformance suite, whose inherited facts cannot carry
/// <see cref="BackendFactAttribute"/>) as needing a real backend: when <see cref="EnvironmentVariable"/> is unset its tests
/// are reported skipped with a message, unless <c>COMPGRID_REQUIRE_BACKENDS=1</c>, where they run and fail.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresBackendAttribute(string backend, string environmentVariable) : Attribute
{
    public string Backend { get; } = backend;

    public string EnvironmentVariable { get; } = environmentVariable;
}

/// <summary>The standard xunit framework, with discovery that honours <see cref="RequiresBackendAttribute"/>.</summary>
public sealed class RequiresBackendTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkDiscoverer CreateDiscoverer(IAssemblyInfo assemblyInfo) =>
        new Discoverer(assemblyInfo, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class Discoverer(IAssemblyInfo assembly, ISourceInformationProvider source, IMessageSink diagnostics)
        : XunitTestFrameworkDiscoverer(assembly, source, diagnostics)
    {
        protected override bool FindTestsForMethod(ITestMethod testMethod, bool includeSourceInformation, IMessageBus messageBus, ITestFrameworkDiscoveryOptions discoveryOptions)
        {
            var requires = testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresBackendAttribute)).FirstOrDefault();
            bool isFact = testMethod.Method.GetCustomAttributes(typeof(FactAttribute)).Any();
            if (requires is null || !isFact || BackendEnvironment.Required) return base.FindTestsForMethod(testMethod, includeSourceInformation, messageBus, discoveryOptions);
            var args = requires.GetConstructorArguments().Cast<string>().ToArray();
            if (BackendEnvironment.IsAvailable(args[1])) return base.FindTestsForMethod(testMethod, includeSourceInformation, messageBus, discoveryOptions);
            string reason = $"{args[0]} is not running ({args[1]} is unset); start it with eng/test.sh, or set COMPGRID_REQUIRE_BACKENDS=1 to fail instead.";
            var skipped = new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason);
            return ReportDiscoveredTestCase(skipped, includeSourceInformation, messageBus);
        }
    }
}
