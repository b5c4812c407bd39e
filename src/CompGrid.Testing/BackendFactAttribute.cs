namespace CompGrid.Testing;

/// <summary>
/// A fact that needs a real backend, found through an environment variable that <c>eng/test.sh</c> sets once the
/// backend is up. When the variable is unset the test is skipped with a message naming the backend, except under
/// <c>COMPGRID_REQUIRE_BACKENDS=1</c> (CI), where it runs and fails.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class BackendFactAttribute : FactAttribute
{
    /// <summary>A fact needing the backend <paramref name="backend"/>, present when <paramref name="environmentVariable"/> is set.</summary>
    public BackendFactAttribute(string backend, string environmentVariable)
    {
        Backend = backend;
        EnvironmentVariable = environmentVariable;
        if (!BackendEnvironment.IsAvailable(environmentVariable) && !BackendEnvironment.Required)
            Skip = $"{backend} is not running ({environmentVariable} is unset); start it with eng/test.sh, or set COMPGRID_REQUIRE_BACKENDS=1 to fail instead.";
    }

    /// <summary>The backend's name.</summary>
    public string Backend { get; }

    /// <summary>The variable that locates it.</summary>
    public string EnvironmentVariable { get; }
}

/// <summary>Reads the variables <c>eng/test.sh</c> sets for real backends.</summary>
public static class BackendEnvironment
{
    /// <summary>Whether missing backends must fail tests (<c>COMPGRID_REQUIRE_BACKENDS=1</c>).</summary>
    public static bool Required => Environment.GetEnvironmentVariable("COMPGRID_REQUIRE_BACKENDS") == "1";

    /// <summary>Whether the variable is set and not empty.</summary>
    public static bool IsAvailable(string variable) => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable));

    /// <summary>The variable's value; throws a message naming the backend when it is unset.</summary>
    public static string Get(string variable, string backend) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v
            ? v
            : throw new InvalidOperationException($"{backend} is required but {variable} is unset: run the tests through eng/test.sh, which starts {backend}.");
}
