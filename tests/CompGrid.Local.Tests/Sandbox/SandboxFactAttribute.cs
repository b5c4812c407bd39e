using CompGrid.Testing;

namespace CompGrid.Local.Tests.Sandbox;

/// <summary>
/// A fact that needs the real sandbox: a host running as root (to switch users and make cgroups). Skipped elsewhere,
/// except under <c>COMPGRID_REQUIRE_BACKENDS=1</c> (CI), where it runs and fails.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class SandboxFactAttribute : FactAttribute
{
    public SandboxFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess && !BackendEnvironment.Required)
            Skip = "The Local sandbox tests need root (setpriv, cgroups); set COMPGRID_REQUIRE_BACKENDS=1 to fail instead.";
    }
}
