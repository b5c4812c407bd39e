using Microsoft.Extensions.Options;

namespace CompGrid.SampleHost.Files;

/// <summary>One entry of <c>inputs</c> in <c>POST /api/jobs</c>: the files of an upload, copied into the job's working directory.</summary>
public sealed class JobInputRequest
{
    /// <summary>The upload's id (from <c>POST /api/uploads</c>); it must be the caller's own.</summary>
    public string? Upload { get; set; }

    /// <summary>A folder (relative to the working directory) the upload's files go under, or null for the working directory itself.</summary>
    public string? Destination { get; set; }
}

/// <summary>One entry of <c>outputs</c> in <c>POST /api/jobs</c>: a file or folder the job leaves, downloadable after it ends.</summary>
public sealed class JobOutputRequest
{
    /// <summary>The path relative to the job's working directory (required).</summary>
    public string? Source { get; set; }
}

/// <summary>
/// Turns a request's <c>inputs</c> (upload ids) and <c>outputs</c> into the engine's staging lists. An input names an
/// upload, never a path on the portal's machine, so a user can stage only what they uploaded.
/// </summary>
public sealed class JobFiles(FileStagingArea area, IOptions<FileStagingOptions> options)
{
    /// <summary>The spec with its staging lists and output directory, or the spec unchanged with <paramref name="errors"/> added.</summary>
    public JobSpec Apply(JobSpec spec, string owner, IReadOnlyList<JobInputRequest>? inputs, IReadOnlyList<JobOutputRequest>? outputs, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(errors);
        var limits = options.Value;
        var staged = new List<StagingItem>();
        for (int i = 0; i < (inputs?.Count ?? 0); i++)
        {
            var input = inputs![i];
            string field = $"inputs[{i}]";
            if (input is null) { errors.Add(new(field, "is required")); continue; }
            if (string.IsNullOrEmpty(input.Upload)) { errors.Add(new(field + ".upload", "is required")); continue; }
            string dir = area.UploadDirectory(owner, input.Upload);
            if (!FileStagingArea.IsId(input.Upload) || !Directory.Exists(dir)) { errors.Add(new(field + ".upload", $"no upload '{input.Upload}' of yours exists")); continue; }
            string prefix = "";
            if (input.Destination is not null)
            {
                if (!StagingItem.IsSafeRelativePath(input.Destination)) { errors.Add(new(field + ".destination", "must be a relative path that stays inside the working directory (no leading '/', no '..')")); continue; }
                prefix = input.Destination.TrimEnd('/') + "/";
            }
            foreach (var file in FileStagingArea.List(dir))
                staged.Add(new StagingItem { Source = Path.Combine(dir, file.Path), Destination = prefix + file.Path });
        }
        if (staged.Count > limits.MaxInputsPerJob) errors.Add(new("inputs", $"name {staged.Count} files; at most {limits.MaxInputsPerJob} are allowed"));

        var wanted = new List<StagingItem>();
        if (outputs is { Count: > 0 })
        {
            if (outputs.Count > limits.MaxOutputsPerJob) errors.Add(new("outputs", $"name {outputs.Count} entries; at most {limits.MaxOutputsPerJob} are allowed"));
            for (int i = 0; i < outputs.Count; i++)
            {
                string? source = outputs[i]?.Source;
                if (!StagingItem.IsSafeRelativePath(source)) { errors.Add(new($"outputs[{i}].source", "must be a relative path that stays inside the working directory (no leading '/', no '..')")); continue; }
                wanted.Add(new StagingItem { Source = source!, Destination = source! });
            }
        }
        if (staged.Count == 0 && wanted.Count == 0) return spec;
        // The output directory is the portal's own (a random folder under {data}/outputs): the download endpoint serves nothing else.
        return spec with { Inputs = staged, Outputs = wanted, OutputDirectory = wanted.Count > 0 ? area.NewOutputDirectory() : null };
    }
}
