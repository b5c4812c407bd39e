using CompGrid.Testing;

namespace CompGrid.Eng.Tests;

/// <summary>
/// A fact that needs root (the backend scripts create users and run daemons as them). Skipped with a message
/// otherwise, except under <c>COMPGRID_REQUIRE_BACKENDS=1</c> (CI), where it runs and fails.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Environment.UserName != "root" && !BackendEnvironment.Required)
            Skip = "needs root: eng/backends/*.sh create users and start daemons as them; run eng/test.sh as root, or set COMPGRID_REQUIRE_BACKENDS=1 to fail instead.";
    }
}
