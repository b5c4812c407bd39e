using System.Globalization;
using CompGrid.Docker.Diagnostics;
using CompGrid.Docker.Staging;

namespace CompGrid.Docker.Jobs;

/// <summary>
/// Starts jobs: validates the request, makes sure the image is there (pulling with the image's own registry
/// credential only), chooses CPU cores, creates the container (adopting it when a retried submission finds its own),
/// stages the inputs in and starts it. A container that fails to start is removed.
/// </summary>
internal sealed class JobLauncher(DockerBackendState state, WalltimeEnforcer walltime, JobTracker tracker)
{
    private static readonly System.Diagnostics.ActivitySource s_activity = new(CompGridDiagnostics.SourceName);

    public async Task<string> SubmitAsync(BackendJobRequest request, CancellationToken cancellationToken)
    {
        var errors = ContainerRequestBuilder.Validate(request, state.Options, state.Name, [.. state.ByName.Keys]);
        if (errors.Count > 0) throw new JobValidationException(errors) { Backend = state.Name, Operation = "submit", JobId = request.JobId };
        var engine = request.Nodes.Count == 1 ? state.ByName[request.Nodes[0]] : state.Engines[0];
        var client = engine.Client;
        string jobId = request.JobId;
        using var activity = s_activity.StartActivity("compgrid.docker.submit");
        activity?.SetTag("compgrid.job_id", jobId);
        activity?.SetTag("compgrid.backend", state.Name);
        activity?.SetTag("compgrid.node", engine.Name);

        ContainerPlan plan;
        string containerId;
        await engine.SubmitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string image = request.Spec.Payload!.Kind == PayloadKind.Container ? request.Spec.Payload.Image! : state.Options.DefaultImage!;
            await EnsureImageAsync(engine, image, jobId, cancellationToken).ConfigureAwait(false);
            string? cpuset = state.Options.PinCpus ? await ChooseCpusetAsync(engine, request.Spec.Resources.Cpus, cancellationToken).ConfigureAwait(false) : null;
            plan = ContainerRequestBuilder.Build(request, state.Options, state.Name, engine.Name, cpuset, state.OutputRoot);
            try
            {
                containerId = (await client.CreateContainerAsync(plan.Name, plan.Request, jobId, cancellationToken).ConfigureAwait(false)).Id;
            }
            catch (CompGridException e) when (e.Code == "docker-409")
            {
                // A retried submission: adopt the container only if it carries this job's id.
                var existing = await client.InspectContainerAsync(plan.Name, jobId, cancellationToken).ConfigureAwait(false);
                if (existing is null || DockerLabels.Get(existing.Config.Labels, DockerLabels.Job) != jobId)
                    throw new CompGridException($"Docker engine '{engine.Name}': the container name '{plan.Name}' is taken by a container that is not job {jobId}.", e)
                    { Backend = state.Name, Operation = "submit", JobId = jobId, Code = CompGridErrorCodes.DockerStatusPrefix + "409" };
                containerId = existing.Id;
                if (existing.State.Status != "created")
                {
                    var adopted = tracker.Register(engine, existing);
                    Log.Adopted(state.Logger, jobId, adopted?.BackendJobId ?? containerId);
                    return engine.Name + "/" + containerId;
                }
            }
        }
        finally
        {
            engine.SubmitGate.Release();
        }

        string backendJobId = engine.Name + "/" + containerId;
        try
        {
            await StageInAsync(engine, containerId, plan, request, cancellationToken).ConfigureAwait(false);
            await client.StartContainerAsync(containerId, jobId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.SubmitFailed(state.Logger, e, jobId, engine.Name);
            try { await client.RemoveContainerAsync(containerId, force: true, volumes: true, jobId, CancellationToken.None).ConfigureAwait(false); }
            catch (CompGridException cleanup) { Log.CleanupFailed(state.Logger, cleanup, jobId); }
            if (e is CompGridException) throw;
            throw new CompGridException($"Docker engine '{engine.Name}': starting job {jobId} failed: {e.Message}", e) { Backend = state.Name, Operation = "submit", JobId = jobId };
        }

        var spec = request.Spec;
        var entry = new JobEntry
        {
            BackendJobId = backendJobId,
            Node = engine.Name,
            ContainerId = containerId,
            JobId = jobId,
            Owner = spec.Owner,
            Account = spec.Account,
            Cpus = spec.Resources.Cpus,
            MemoryMiB = request.MemoryMiBPerNode > 0 ? request.MemoryMiBPerNode : spec.Resources.MemoryMiB,
            Gpus = spec.Resources.Gpus,
            Walltime = request.Walltime,
            WorkDirectory = plan.WorkDirectory,
            OutputDirectory = plan.OutputDirectory,
            Outputs = spec.Outputs,
            StartedAt = state.Time.GetUtcNow(),
        };
        state.Jobs[backendJobId] = entry;
        walltime.Arm(entry, request.Walltime);
        Log.Started(state.Logger, jobId, backendJobId, plan.Request.Image);
        return backendJobId;
    }

    private async Task EnsureImageAsync(EngineNode engine, string image, string jobId, CancellationToken cancellationToken)
    {
        var policy = state.Options.PullPolicy;
        if (policy != ImagePullPolicy.Always && await engine.Client.InspectImageAsync(image, cancellationToken).ConfigureAwait(false) is not null) return;
        if (policy == ImagePullPolicy.Never)
            throw new CompGridException($"Docker engine '{engine.Name}' does not have the image '{image}' and the pull policy is Never.")
            { Backend = state.Name, Operation = "submit", JobId = jobId, Code = CompGridErrorCodes.ImageMissing };
        Log.Pulling(state.Logger, image, engine.Name);
        await engine.Client.PullImageAsync(image, ImageReference.CredentialFor(image, state.Options.RegistryCredentials), jobId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Chooses the least-loaded cores of the engine for a job of <paramref name="cpus"/> CPUs; null when it needs them all.</summary>
    private async Task<string?> ChooseCpusetAsync(EngineNode engine, int cpus, CancellationToken cancellationToken)
    {
        var info = await state.GetInfoAsync(engine, cancellationToken).ConfigureAwait(false);
        int cores = info.NCpu;
        if (cores <= 0 || cpus >= cores) return null;
        var load = new int[cores];
        var containers = await engine.Client.ListContainersAsync([DockerLabels.Managed + "=true"], all: true, cancellationToken).ConfigureAwait(false);
        foreach (var c in containers)
        {
            if (Array.IndexOf(DockerBackendState.LiveStates, c.State) < 0 || DockerLabels.Get(c.Labels, DockerLabels.Cpuset) is not { } set) continue;
            foreach (string part in set.Split(','))
                if (int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int core) && core >= 0 && core < cores) load[core]++;
        }
        return PickCores(load, cpus);
    }

    /// <summary>The <paramref name="count"/> least-loaded cores (lowest index first on ties), as a cpuset string.</summary>
    internal static string PickCores(int[] load, int count) =>
        string.Join(',', Enumerable.Range(0, load.Length).OrderBy(i => load[i]).ThenBy(i => i).Take(count).Order().Select(i => i.ToString(CultureInfo.InvariantCulture)));

    private async Task StageInAsync(EngineNode engine, string containerId, ContainerPlan plan, BackendJobRequest request, CancellationToken cancellationToken)
    {
        string target;
        string relative;
        if (plan.VolumePath is { } volume)
        {
            target = volume;
            relative = ContainerRequestBuilder.VolumeRelative(plan.WorkDirectory, volume)!;
        }
        else
        {
            // Extract at the deepest existing parent so the working directory itself is created owned by the job's user.
            target = plan.WorkDirectory;
            relative = "";
            while (target != "/" && await engine.Client.StatPathAsync(containerId, target, request.JobId, cancellationToken).ConfigureAwait(false) is null)
            {
                int slash = target.LastIndexOf('/');
                string name = target[(slash + 1)..];
                relative = relative.Length == 0 ? name : name + "/" + relative;
                target = slash <= 0 ? "/" : target[..slash];
            }
        }
        if (relative.Length == 0 && request.Spec.Inputs.Count == 0 && plan.Script is null) return;

        string temp = Path.Combine(Path.GetTempPath(), "compgrid-stage-" + Guid.NewGuid().ToString("N") + ".tar");
        var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose);
        await using (file.ConfigureAwait(false))
        {
            TarStaging.WriteInputArchive(file, relative, request.Spec.Inputs, plan.Script, plan.Uid, plan.Gid, state.Time.GetUtcNow());
            file.Position = 0;
            await engine.Client.PutArchiveAsync(containerId, target, file, request.JobId, cancellationToken).ConfigureAwait(false);
        }
    }
}
