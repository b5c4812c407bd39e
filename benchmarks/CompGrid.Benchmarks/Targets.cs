namespace CompGrid.Benchmarks;

public static class Targets
{
    public static int Run(string[] args) => 0;
}
