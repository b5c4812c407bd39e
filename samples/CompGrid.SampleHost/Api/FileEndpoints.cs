using System.Security.Claims;
using CompGrid.SampleHost.Files;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using static CompGrid.SampleHost.Api.ApiResults;

namespace CompGrid.SampleHost.Api;

/// <summary>
/// Files through the API: <c>POST /api/uploads</c> (multipart, one part per file) stores inputs for later jobs;
/// <c>GET /api/jobs/{id}/outputs</c> lists what a job left and <c>GET /api/jobs/{id}/outputs/{path}</c> downloads it.
/// </summary>
public static class FileEndpoints
{
    /// <summary>Registers the staging area under <paramref name="dataDirectory"/> and its limits from <paramref name="section"/>.</summary>
    public static IServiceCollection AddFileStaging(this IServiceCollection services, IConfiguration section, string dataDirectory)
    {
        services.AddOptions<FileStagingOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<FileStagingOptions>, FileStagingOptionsValidator>();
        services.AddSingleton(new FileStagingArea(dataDirectory));
        services.AddSingleton<JobFiles>();
        return services;
    }

    /// <summary>Maps the upload and output endpoints.</summary>
    public static IEndpointRouteBuilder MapFileEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization();
        api.MapPost("/uploads", UploadAsync).RequireRateLimiting(RequestLimits.SubmitPolicy);
        api.MapGet("/uploads/{id}", (string id, ClaimsPrincipal user, FileStagingArea area) =>
        {
            string dir = area.UploadDirectory(user.Identity!.Name!, id);
            return FileStagingArea.IsId(id) && Directory.Exists(dir) ? Results.Ok(new { id, files = FileStagingArea.List(dir) }) : UploadNotFound(id);
        });
        api.MapGet("/jobs/{id}/outputs", async (string id, ClaimsPrincipal user, ICompGridClient grid, FileStagingArea area, CancellationToken ct) =>
            await VisibleJobAsync(id, user, grid, ct) is not { } job ? JobNotFound(id)
                : Results.Ok(new { id, state = job.State, files = area.IsOutputDirectory(job.Spec.OutputDirectory) ? FileStagingArea.List(job.Spec.OutputDirectory!) : [] }));
        api.MapGet("/jobs/{id}/outputs/{**path}", async (string id, string path, ClaimsPrincipal user, ICompGridClient grid, FileStagingArea area, CancellationToken ct) =>
        {
            if (await VisibleJobAsync(id, user, grid, ct) is not { } job) return JobNotFound(id);
            if (!area.IsOutputDirectory(job.Spec.OutputDirectory)) return Results.Problem($"Job '{id}' has no outputs.", statusCode: 404, title: "Not found");
            string? file = FileStagingArea.Inside(job.Spec.OutputDirectory!, path);
            if (file is null) return Invalid(new ValidationError("path", "must be a relative path that stays inside the job's output directory"));
            // Only regular files the portal itself copied out: no links, nothing outside the directory.
            var info = new FileInfo(file);
            if (!info.Exists || info.LinkTarget is not null) return Results.Problem($"Job '{id}' has no output '{path}'.", statusCode: 404, title: "Not found");
            return Results.File(file, "application/octet-stream", Path.GetFileName(file));
        });
        return app;
    }

    private static async Task<IResult> UploadAsync(HttpRequest request, ClaimsPrincipal user, FileStagingArea area, IOptions<FileStagingOptions> options, CancellationToken ct)
    {
        var limits = options.Value;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 and <= 200 } boundary)
            return Invalid(new ValidationError("body", "must be multipart/form-data with one part per file"));
        // Uploads may be larger than other requests; the multipart framing gets a little room on top of the file bytes.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limits.MaxUploadBytes + (64 << 10);

        string id = FileStagingArea.NewId();
        string dir = area.UploadDirectory(user.Identity!.Name!, id);
        Directory.CreateDirectory(dir);
        SetMode(Path.GetDirectoryName(dir)!, 0b111_001_001);
        SetMode(dir, 0b111_001_001);
        var files = new List<StagedFile>();
        long total = 0;
        try
        {
            var reader = new MultipartReader(boundary, request.Body);
            while (await reader.ReadNextSectionAsync(ct) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.IsFileDisposition())
                    return Fail(new ValidationError("body", "every part must be a file (Content-Disposition: form-data; filename=…)"));
                string name = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value ?? "";
                string field = $"files[{files.Count}]";
                if (FileStagingArea.Inside(dir, name) is not { } target) return Fail(new ValidationError(field, $"'{name}' must be a relative path that stays inside the upload (no leading '/', no '..')"));
                if (files.Count == limits.MaxFilesPerUpload) return Fail(new ValidationError("files", $"at most {limits.MaxFilesPerUpload} files per upload"));
                if (File.Exists(target) || Directory.Exists(target)) return Fail(new ValidationError(field, $"'{name}' is given twice"));
                CreateDirectories(dir, Path.GetDirectoryName(target)!);
                long length;
                await using (var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write))
                {
                    length = await CopyBoundedAsync(section.Body, output, limits.MaxUploadBytes - total, ct);
                }
                if (length < 0) return Problem413(limits.MaxUploadBytes);
                SetMode(target, 0b110_100_100);
                total += length;
                files.Add(new StagedFile(name, length));
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge) { return Problem413(limits.MaxUploadBytes); }
        catch (IOException ex) when (ex.InnerException is null && !ct.IsCancellationRequested) { return Fail(new ValidationError("body", "is not well-formed multipart: " + ex.Message)); }
        catch { TryDelete(dir); throw; }
        if (files.Count == 0) return Fail(new ValidationError("files", "at least one file is required"));
        return Results.Created($"/api/uploads/{id}", new { id, files });

        IResult Fail(ValidationError error) { TryDelete(dir); return Invalid(error); }
        IResult Problem413(long max)
        {
            TryDelete(dir);
            return Results.Problem($"The upload is larger than the {max} bytes allowed (CompGrid:Files:MaxUploadBytes).", statusCode: 413, title: "Upload too large");
        }
    }

    // Copies at most `budget` bytes; -1 when the source holds more (nothing beyond the budget is written).
    private static async Task<long> CopyBoundedAsync(Stream from, Stream to, long budget, CancellationToken ct)
    {
        var buffer = new byte[81920];
        long copied = 0;
        int n;
        while ((n = await from.ReadAsync(buffer, ct)) > 0)
        {
            if (copied + n > budget) return -1;
            await to.WriteAsync(buffer.AsMemory(0, n), ct);
            copied += n;
        }
        return copied;
    }

    private static void CreateDirectories(string root, string directory)
    {
        Directory.CreateDirectory(directory);
        for (string d = directory; d.Length > root.Length; d = Path.GetDirectoryName(d)!) SetMode(d, 0b111_001_001);
    }

    private static void SetMode(string path, int mode)
    {
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(path, (UnixFileMode)mode);
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static IResult UploadNotFound(string id) => Results.Problem($"No upload '{id}' of yours exists.", statusCode: 404, title: "Not found");
}
