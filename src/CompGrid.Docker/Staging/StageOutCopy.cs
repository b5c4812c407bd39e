namespace CompGrid.Docker.Staging;

/// <summary>Copies an output archive from the engine to a local file without ever holding more than a limit.</summary>
internal static class StageOutCopy
{
    /// <summary>Copies at most <paramref name="limit"/> bytes; false (with the copy abandoned) when the source has more.</summary>
    public static async Task<bool> CopyAtMostAsync(Stream source, Stream destination, long limit, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
            if (total > limit) return false;
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
        return true;
    }
}
