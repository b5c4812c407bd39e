using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace CompGrid.Docker.Engine;

/// <summary>The stream a frame of a multiplexed logs/attach stream belongs to.</summary>
internal enum StreamKind : byte
{
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    SystemError = 3,
}

/// <summary>One frame of a multiplexed stream.</summary>
internal readonly record struct StreamFrame(StreamKind Kind, ReadOnlyMemory<byte> Payload);

/// <summary>
/// Reads Docker's multiplexed stream framing (containers created with <c>Tty=false</c>): an 8-byte header
/// <c>{type, 0, 0, 0, size (uint32 big-endian)}</c> followed by <c>size</c> payload bytes, repeated. EOF at a frame
/// boundary ends the stream; EOF inside a header or payload is truncation and throws.
/// </summary>
internal static class MultiplexedStreamReader
{
    public const int HeaderSize = 8;

    /// <summary>Reads frames until EOF. Each payload is a fresh array.</summary>
    public static async IAsyncEnumerable<StreamFrame> ReadFramesAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        byte[] header = new byte[HeaderSize];
        while (true)
        {
            int got = await ReadFullyAsync(stream, header, cancellationToken).ConfigureAwait(false);
            if (got == 0) yield break;
            if (got < HeaderSize) throw new InvalidDataException($"Docker stream truncated inside a frame header ({got} of {HeaderSize} bytes).");
            var kind = (StreamKind)header[0];
            if (header[0] > 3 || header[1] != 0 || header[2] != 0 || header[3] != 0)
                throw new InvalidDataException($"Not a Docker multiplexed stream (header {Convert.ToHexString(header)}); was the container created with a TTY?");
            uint size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
            if (size > int.MaxValue) throw new InvalidDataException($"Docker stream frame too large ({size} bytes).");
            byte[] payload = new byte[size];
            int read = await ReadFullyAsync(stream, payload, cancellationToken).ConfigureAwait(false);
            if (read < size) throw new InvalidDataException($"Docker stream truncated inside a frame ({read} of {size} bytes).");
            yield return new StreamFrame(kind, payload);
        }
    }

    /// <summary>
    /// Reads a whole (non-follow) log stream into stdout and stderr text, keeping at most <paramref name="maxBytes"/>
    /// per stream. A system-error frame (type 3) ends in a <see cref="CompGridException"/>.
    /// </summary>
    public static async Task<JobLogs> ReadLogsAsync(Stream stream, int maxBytes, CancellationToken cancellationToken = default)
    {
        using var stdout = new MemoryStream();
        using var stderr = new MemoryStream();
        bool truncated = false;
        await foreach (var frame in ReadFramesAsync(stream, cancellationToken).ConfigureAwait(false))
        {
            MemoryStream? target = frame.Kind switch
            {
                StreamKind.Stdout or StreamKind.Stdin => stdout,
                StreamKind.Stderr => stderr,
                _ => null,
            };
            if (target is null)
                throw new CompGridException("The Docker engine reported an error in the log stream: " + Encoding.UTF8.GetString(frame.Payload.Span)) { Operation = "logs" };
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

    /// <summary>Writes one frame (for tests and fakes).</summary>
    public static void WriteFrame(Stream stream, StreamKind kind, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        header[0] = (byte)kind;
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)payload.Length);
        stream.Write(header);
        stream.Write(payload);
    }

    private static async Task<int> ReadFullyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}
