using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using CompGrid.Local.Cgroups;
using CompGrid.Local.Processes;
using CompGrid.Local.Sandbox;

namespace CompGrid.Local.Supervision;

/// <summary>
/// Starts a job: a new session running a small root-owned wrapper that waits at a gate until the supervisor has put it
/// into the job's cgroups, sends its output to the supervisor's log files, runs the job (as the run-as account, by
/// argument list through <c>setpriv</c>), waits for it and records the exit status where only root can write.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class JobLauncher(string backend, LocalBackendOptions options)
{
    // The job's argv arrives as positional parameters, never as shell text. A TERM handler (not an ignore, which the
    // job would inherit) keeps the wrapper waiting so the exit status is recorded.
    private const string Wrapper = """
        d="$1"; w="$2"; shift 2
        read -r go || exit 125
        exec </dev/null >>"$d/stdout" 2>>"$d/stderr"
        trap : TERM INT HUP
        cd "$w" || { echo 126 >"$d/exit.tmp"; mv -f "$d/exit.tmp" "$d/exit"; exit 126; }
        "$@"
        rc=$?
        times >"$d/times"
        echo "$rc" >"$d/exit.tmp" && mv -f "$d/exit.tmp" "$d/exit"
        exit "$rc"
        """;

    /// <summary>Starts the wrapper, moves it into <paramref name="cgroup"/>, then opens the gate.</summary>
    public Launched Start(string id, string supervisorDir, string work, IReadOnlyList<string> jobArgv, IReadOnlyDictionary<string, string> environment,
        RunAsAccount? account, IJobCgroup? cgroup, long memoryMiB)
    {
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false, WorkingDirectory = supervisorDir, RedirectStandardInput = true };
        foreach (string a in (string[])[options.Shell, "-c", Wrapper, "compgrid-job", supervisorDir, work]) psi.ArgumentList.Add(a);
        foreach (string a in Rlimits(cgroup is null, memoryMiB)) psi.ArgumentList.Add(a);
        foreach (string a in DropPrivileges(account)) psi.ArgumentList.Add(a);
        foreach (string a in jobArgv) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        var process = Process.Start(psi) ?? throw new CompGridException("The job process did not start.") { Backend = backend, Operation = "submit", JobId = id };
        try
        {
            // Identified before the gate opens: the job cannot have ended yet.
            var launched = new Launched(process, process.Id, ProcFs.Read(process.Id)?.StartTime ?? 0);
            cgroup?.Add(process.Id);
            process.StandardInput.WriteLine("go");
            process.StandardInput.Close();
            return launched;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>The clean environment: what the options let through, the job's own, then CompGrid's; the account's identity.</summary>
    public Dictionary<string, string> Environment(BackendJobRequest request, RunAsAccount? account, string work)
    {
        var spec = request.Spec;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string key in options.InheritedEnvironment)
            if (System.Environment.GetEnvironmentVariable(key) is { } v) env[key] = v;
        env.TryAdd("PATH", "/usr/local/bin:/usr/bin:/bin");
        if (account is not null)
        {
            // The host's HOME (root's) is not the job's.
            env["HOME"] = work;
            env["USER"] = env["LOGNAME"] = account.PerJob ? account.Uid.ToString(CultureInfo.InvariantCulture) : account.Name;
        }
        foreach (var (k, v) in spec.Environment) env[k] = v;
        env["COMPGRID_JOB_ID"] = request.JobId;
        env["COMPGRID_JOB_NAME"] = spec.Name;
        env["COMPGRID_CPUS"] = spec.Resources.Cpus.ToString(CultureInfo.InvariantCulture);
        env["COMPGRID_NODES"] = string.Join(",", request.Nodes);
        env["OMP_NUM_THREADS"] = spec.Resources.Cpus.ToString(CultureInfo.InvariantCulture);
        return env;
    }

    /// <summary>The job's argv; a script is written into the job's own directory, owned by the account it runs as.</summary>
    public IReadOnlyList<string> Argv(JobPayload payload, string jobDir, RunAsAccount? account)
    {
        switch (payload.Kind)
        {
            case PayloadKind.CommandLine:
                return [options.Shell, "-c", payload.CommandLine!];
            case PayloadKind.Script:
                string script = Path.Combine(jobDir, "script");
                File.WriteAllText(script, payload.Script!);
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                if (account is not null) LocalLayout.Own(script, account.Uid, account.Gid);
                if (payload.Interpreter is { } interp) return [interp, script];
                return payload.Script!.StartsWith("#!", StringComparison.Ordinal) ? [script] : [options.Shell, script];
            case PayloadKind.Executable:
                return [payload.Executable!, .. payload.Arguments];
            default:
                throw new CompGridException($"The local backend does not run {payload.Kind} payloads.") { Backend = backend, Operation = "submit" };
        }
    }

    /// <summary>
    /// Copies the job's inputs into its working directory as the account the job runs as, so an input can only be a
    /// file that account may read (never the portal's database or keys).
    /// </summary>
    public void StageIn(JobSpec spec, string work, RunAsAccount? account, string id)
    {
        foreach (var item in spec.Inputs)
        {
            string target = Staging.Inside(work, item.Destination, "inputs.destination");
            if (account is null) { Staging.CopyIn(item.Source, work, item.Destination); continue; }
            var psi = new ProcessStartInfo("setpriv") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = work };
            foreach (string a in DropPrivileges(account).Skip(1)) psi.ArgumentList.Add(a);
            foreach (string a in (string[])[options.Shell, "-c", "mkdir -p -- \"$(dirname -- \"$2\")\" && cp -R -- \"$1\" \"$2\"", "stage-in", item.Source, target])
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            p.StandardOutput.ReadToEnd();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new CompGridException($"inputs: '{item.Source}' cannot be staged as {account.Name}: {err.Trim()}") { Backend = backend, Operation = "stage-in", JobId = id };
        }
    }

    // Drops to the account: real and effective ids, its groups, no capabilities, no setuid gains (sudo, su).
    internal static IReadOnlyList<string> DropPrivileges(RunAsAccount? account) => account is null ? [] :
    [
        "setpriv", $"--reuid={account.Uid}", $"--regid={account.Gid}", account.PerJob ? "--clear-groups" : "--init-groups",
        "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--",
    ];

    // The fallback without cgroups: a process limit and an address-space limit from the job's memory.
    private IReadOnlyList<string> Rlimits(bool fallback, long memoryMiB)
    {
        if (!fallback) return [];
        var args = new List<string> { "prlimit" };
        if (options.MaxProcesses > 0) args.Add(string.Create(CultureInfo.InvariantCulture, $"--nproc={options.MaxProcesses}"));
        if (memoryMiB > 0) args.Add(string.Create(CultureInfo.InvariantCulture, $"--as={memoryMiB * 1024 * 1024}"));
        if (args.Count == 1) return [];
        args.Add("--");
        return args;
    }
}

/// <summary>A started job: its wrapper process, pid and kernel start time (which tells the pid apart after reuse).</summary>
internal sealed record Launched(Process Process, int Pid, ulong StartTime);
