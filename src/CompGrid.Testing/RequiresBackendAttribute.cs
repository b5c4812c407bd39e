using Xunit.Abstractions;
using Xunit.Sdk;

namespace CompGrid.Testing;

/// <summary>
/// Marks a test class as needing a real backend, for classes whose facts are inherited (the conformance suites) and
/// so cannot carry <see cref="BackendFactAttribute"/>. When <see cref="EnvironmentVariable"/> is unset the class's
/// facts are reported skipped with a message naming the backend, unless <c>COMPGRID_REQUIRE_BACKENDS=1</c>, where
/// they run (and fail). Takes effect in test assemblies that use <see cref="BackendTestFramework"/>:
/// <c>[assembly: TestFramework("CompGrid.Testing.BackendTestFramework", "CompGrid.Testing")]</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresBackendAttribute(string backend, string environmentVariable) : Attribute
{
    /// <summary>The backend's name, for the skip message.</summary>
    public string Backend { get; } = backend;

    /// <summary>The variable that locates the backend.</summary>
    public string EnvironmentVariable { get; } = environmentVariable;
}

/// <summary>xunit's standard framework, with discovery that honours <see cref="RequiresBackendAttribute"/>.</summary>
public sealed class BackendTestFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    /// <inheritdoc/>
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
