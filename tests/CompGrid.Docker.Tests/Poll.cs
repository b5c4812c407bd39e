using System.Diagnostics;

namespace CompGrid.Docker.Tests;

/// <summary>Polls a real backend until a condition holds, with a timeout (never a blind sleep).</summary>
internal static class Poll
{
    public static async Task<BackendJobStatus> UntilAsync(IComputeBackend backend, string id, Func<BackendJobStatus, bool> until, string what, int seconds = 60)
    {
        var sw = Stopwatch.StartNew();
        BackendJobStatus? last = null;
        while (sw.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            last = await backend.GetStatusAsync(id);
            if (last is not null && until(last)) return last;
            await Task.Delay(100);
        }
        Assert.Fail($"{id} did not become {what} within {seconds}s; last: {last}");
        return null!;
    }

    public static Task<BackendJobStatus> TerminalAsync(IComputeBackend backend, string id, int seconds = 60) =>
        UntilAsync(backend, id, s => s.State.IsTerminal(), "terminal", seconds);

    public static async Task<T> ConditionAsync<T>(Func<Task<T>> probe, Func<T, bool> until, string what, int seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        T value = await probe();
        while (!until(value))
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail($"{what} not reached within {seconds}s; last: {value}");
            await Task.Delay(100);
            value = await probe();
        }
        return value;
    }
}
