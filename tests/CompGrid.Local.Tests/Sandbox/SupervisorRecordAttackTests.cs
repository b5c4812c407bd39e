namespace CompGrid.Local.Tests.Sandbox;

/// <summary>The metering attacks: a job rewriting the records the backend keeps about it.</summary>
[Trait("Category", "Local")]
[Collection(SandboxCollection.Name)]
public sealed class SupervisorRecordAttackTests(SandboxFixture fixture)
{
    [SandboxFact]
    public async Task RewritingMetaJsonAndExit_ChangesNeitherUsageAccountNorFinalState()
    {
        var before = DateTimeOffset.UtcNow;
        string forged = """{"jobId":"x","owner":"alice","account":"alice-lab","startedAt":"2000-01-01T00:00:00Z","cpus":4096,"pid":1}""";
        string sup = Path.Combine(fixture.StateDirectory, "supervisor");
        // Every record the job might reach: one directory up (the old layout), and the supervisor's own by absolute path.
        string command = $$"""
            for d in .. ../.. "{{sup}}/$COMPGRID_JOB_ID"; do
              echo '{{forged}}' > "$d/meta.json" && echo "WROTE $d/meta.json"
              echo 0 > "$d/exit" && echo "WROTE $d/exit"
              echo 1 > "$d/ended" && echo "WROTE $d/ended"
            done
            echo done > ready
            while [ ! -e go ]; do sleep 0.05; done
            exit 3
            """;
        var id = await Jobs.SubmitAsync(fixture.Backend, command, owner: "bob", account: "bob-lab");
        string work = Jobs.WorkDir(fixture.StateDirectory, id);
        await Jobs.WaitForFileAsync(Path.Combine(work, "ready"));

        // The forged exit 0 does not end the job: it is still running, as the supervisor's own wait says.
        Assert.Equal(JobState.Running, (await fixture.Backend.GetStatusAsync(id))!.State);
        await File.WriteAllTextAsync(Path.Combine(work, "go"), "");
        var status = await Jobs.WaitTerminalAsync(fixture.Backend, id);
        Assert.Equal(JobState.Failed, status.State);
        Assert.Equal(3, status.ExitCode);

        var usage = await fixture.Backend.GetUsageAsync(id);
        Assert.NotNull(usage);
        Assert.Equal("bob-lab", usage!.Account);
        Assert.Equal("bob", usage.User);
        Assert.Equal(1, usage.AllocatedCpus);
        Assert.True(usage.StartedAt >= before.AddSeconds(-1), $"start {usage.StartedAt:O} is the supervisor's, not the forged 2000-01-01");
        Assert.True(usage.Elapsed < TimeSpan.FromMinutes(5), $"elapsed {usage.Elapsed}");
        string stdout = (await fixture.Backend.GetLogsAsync(id)).StandardOutput;
        Assert.DoesNotContain($"WROTE {sup}", stdout, StringComparison.Ordinal);
    }

    [SandboxFact]
    public async Task ReplacingItsLogWithALink_DoesNotLeakHostFiles()
    {
        // The logs live in the supervisor's directory: the job can write to them but not replace them.
        string sup = Path.Combine(fixture.StateDirectory, "supervisor");
        var id = await Jobs.SubmitAsync(fixture.Backend,
            $"rm -f \"{sup}/$COMPGRID_JOB_ID/stdout\" ../stdout; ln -sf '{fixture.DatabaseFile}' \"{sup}/$COMPGRID_JOB_ID/stdout\"; ln -sf '{fixture.DatabaseFile}' ../stdout; echo mine");
        await Jobs.WaitTerminalAsync(fixture.Backend, id);
        var logs = await fixture.Backend.GetLogsAsync(id);
        Assert.Equal("mine\n", logs.StandardOutput);
        Assert.DoesNotContain("alice-lab", logs.StandardOutput + logs.StandardError, StringComparison.Ordinal);
    }
}
