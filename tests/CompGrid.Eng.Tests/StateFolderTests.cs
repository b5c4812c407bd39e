namespace CompGrid.Eng.Tests;

/// <summary>
/// How eng/lib.sh chooses a checkout's state folder (run on a copy of the eng/ scripts in a private folder, so no
/// backend starts): per checkout below /var/tmp, overridable, and never a folder someone else prepared there.
/// </summary>
[Trait("Category", "Eng")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StateFolderTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("compgrid-state-");
    private readonly List<string> _created = [];

    [Fact]
    public async Task DefaultState_PrivateCheckout_IsAFolderBelowVarTmpLinkedFromTheCheckout()
    {
        string checkout = CopyScripts("a");
        string state = await PathOf(checkout);

        Assert.Matches("^/var/tmp/compgrid-[0-9a-f]{12}$", state);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(state));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(state, "env")));
        Assert.Equal(state, new DirectoryInfo(Path.Combine(checkout, ".state")).LinkTarget);
        Assert.Equal(state, await PathOf(checkout)); // stable for the same checkout
    }

    [Fact]
    public async Task DefaultState_TwoCheckouts_GetTwoFolders()
    {
        string a = await PathOf(CopyScripts("a"));
        string b = await PathOf(CopyScripts("b"));
        Assert.NotEqual(a, b);
    }

    [Fact]
    public async Task CompgridState_Set_IsUsedAndNoLinkIsMade()
    {
        string checkout = CopyScripts("a");
        string mine = Path.Combine(_root.FullName, "mine");
        var result = await Shell.RunAsync("bash", [Path.Combine(checkout, "eng", "state.sh"), "path"], Timeout, checkout, Env(mine));
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(mine, result.Output.Trim());
        Assert.False(Path.Exists(Path.Combine(checkout, ".state")));
    }

    [RootFact]
    public async Task DefaultState_FolderOwnedBySomeoneElse_IsRefusedAndLeftAlone()
    {
        string checkout = CopyScripts("a");
        string state = await PathOf(checkout);
        File.Delete(Path.Combine(checkout, ".state"));
        Directory.Delete(state, recursive: true);
        // Someone else creates the folder first (/var/tmp is writable by everyone).
        Directory.CreateDirectory(state);
        var chown = await Shell.RunAsync("chown", ["nobody", state], Timeout);
        Assert.True(chown.ExitCode == 0, chown.ToString());

        var result = await Shell.RunAsync("bash", [Path.Combine(checkout, "eng", "state.sh"), "path"], Timeout, checkout, Env(null));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"state folder {state} is a link or not owned by", result.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(state));
        Assert.False(Path.Exists(Path.Combine(checkout, ".state")));
    }

    /// <summary>A private folder holding a copy of eng/lib.sh and eng/state.sh, standing for a checkout.</summary>
    private string CopyScripts(string name)
    {
        string checkout = Path.Combine(_root.FullName, name);
        Directory.CreateDirectory(Path.Combine(checkout, "eng", "backends"));
        string repo = Checkout.Root;
        foreach (string file in new[] { "lib.sh", "state.sh" })
            File.Copy(Path.Combine(repo, "eng", file), Path.Combine(checkout, "eng", file));
        return checkout;
    }

    private async Task<string> PathOf(string checkout)
    {
        var result = await Shell.RunAsync("bash", [Path.Combine(checkout, "eng", "state.sh"), "path"], Timeout, checkout, Env(null));
        Assert.True(result.ExitCode == 0, result.ToString());
        string state = result.Output.Trim();
        _created.Add(state);
        return state;
    }

    private static Dictionary<string, string?> Env(string? state) => new() { ["COMPGRID_STATE"] = state, ["COMPGRID_REPO"] = null };

    public void Dispose()
    {
        foreach (string state in _created.Where(s => s.StartsWith("/var/tmp/compgrid-", StringComparison.Ordinal) && Directory.Exists(s)))
            Directory.Delete(state, recursive: true);
        _root.Delete(recursive: true);
    }
}
