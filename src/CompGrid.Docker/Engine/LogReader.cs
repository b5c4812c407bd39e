using System.Runtime.CompilerServices;
using System.Text;
using Docker.DotNet;

namespace CompGrid.Docker.Engine;

/// <summary>Reads Docker.DotNet's <see cref="MultiplexedStream"/> of a container's logs (the caller disposes it).</summary>
internal static class LogReader
{
    /// <summary>Reads the whole stream into stdout and stderr text, keeping at most <paramref name="maxBytes"/> per stream.</summary>
    public static async Task<JobLogs> ReadAsync(MultiplexedStream stream, int maxBytes, CancellationToken cancellationToken)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        bool truncated = false;
        await foreach (var frame in FramesAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            var target = frame.Kind == StreamKind.Stderr ? stderr : stdout;
            int room = (int)Math.Max(0, maxBytes - target.Length);
            if (frame.Payload.Length > room) truncated = true;
            target.Write(frame.Payload.Span[..Math.Min(room, frame.Payload.Length)]);
        }
        return new JobLogs
        {
            StandardOutput = Encoding.UTF8.GetString(stdout.GetBuffer(), 0, (int)stdout.Length),
            StandardError = Encoding.UTF8.GetString(stderr.GetBuffer(), 0, (int)stderr.Length),
            Truncated = truncated,
        };
    }

    /// <summary>Yields the stream's chunks with the stream each belongs to, until its end.</summary>
    public static async IAsyncEnumerable<StreamFrame> FramesAsync(MultiplexedStream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[81920];
        while (true)
        {
            var result = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
            if (result.EOF) yield break;
            if (result.Count == 0) continue;
            var kind = result.Target switch
            {
                MultiplexedStream.TargetStream.StandardError => StreamKind.Stderr,
                MultiplexedStream.TargetStream.StandardIn => StreamKind.Stdin,
                _ => StreamKind.Stdout,
            };
            yield return new StreamFrame(kind, buffer.AsSpan(0, result.Count).ToArray());
        }
    }
}
