using Microsoft.Extensions.Options;

namespace CompGrid.SampleHost.Files;

/// <summary>
/// Files through the API (<c>CompGrid:Files</c>): the size and count limits of uploads and of the inputs and outputs a
/// job may name. Validated at start-up by <see cref="FileStagingOptionsValidator"/>.
/// </summary>
public sealed class FileStagingOptions
{
    /// <summary>The largest upload (all its files together), in bytes; larger bodies get 413. <value>The default is 64 MiB.</value></summary>
    public long MaxUploadBytes { get; set; } = 64L << 20;

    /// <summary>The most files one upload may carry. <value>The default is 100.</value></summary>
    public int MaxFilesPerUpload { get; set; } = 100;

    /// <summary>The most uploaded files one job may take as inputs. <value>The default is 1000.</value></summary>
    public int MaxInputsPerJob { get; set; } = 1000;

    /// <summary>The most outputs one job may name. <value>The default is 100.</value></summary>
    public int MaxOutputsPerJob { get; set; } = 100;
}

/// <summary>The one validator of <see cref="FileStagingOptions"/>.</summary>
public sealed class FileStagingOptionsValidator : IValidateOptions<FileStagingOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, FileStagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxUploadBytes < 1) failures.Add("Files:MaxUploadBytes: must be at least 1");
        if (options.MaxFilesPerUpload < 1) failures.Add("Files:MaxFilesPerUpload: must be at least 1");
        if (options.MaxInputsPerJob < 1) failures.Add("Files:MaxInputsPerJob: must be at least 1");
        if (options.MaxOutputsPerJob < 1) failures.Add("Files:MaxOutputsPerJob: must be at least 1");
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
