namespace CompGrid.Eng.Tests;

/// <summary>The checkout these tests were built from (the folder holding eng/lib.sh and .git above the binaries).</summary>
internal static class Checkout
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "eng", "lib.sh")) && Path.Exists(Path.Combine(dir.FullName, ".git")))
                return dir.FullName;
        }

        throw new InvalidOperationException($"no checkout (eng/lib.sh beside .git) above {AppContext.BaseDirectory}");
    }
}
