namespace CompGrid.Agent;

/// <summary>Section <c>Agent:Utm</c>: whether and how the agent runs <c>utmctl</c> for the portal (a Mac with UTM).</summary>
internal sealed class UtmOptions
{
    /// <summary>Whether the portal may drive UTM through this agent. The default is false: the agent refuses every UTM request.</summary>
    public bool Enabled { get; set; }

    /// <summary>The <c>utmctl</c> executable. The default is <c>/Applications/UTM.app/Contents/MacOS/utmctl</c> (where UTM installs it).</summary>
    public string UtmctlPath { get; set; } = "/Applications/UTM.app/Contents/MacOS/utmctl";

    /// <summary>How long one utmctl command may take before it is killed (it waits for UTM's GUI to answer). The default is 60 seconds.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    internal IEnumerable<string> Errors()
    {
        if (!Enabled) yield break;
        if (string.IsNullOrWhiteSpace(UtmctlPath) || !Path.IsPathRooted(UtmctlPath)) yield return "Agent:Utm:UtmctlPath must be an absolute path to utmctl.";
        if (CommandTimeout <= TimeSpan.Zero) yield return "Agent:Utm:CommandTimeout must be positive.";
    }
}
