using System.Text;
using CompGrid.Docker.Engine;

namespace CompGrid.Docker.Tests;

[Trait("Category", "Docker")]
public sealed class StreamFramingTests
{
    private static MemoryStream Frames(params (StreamKind Kind, string Text)[] frames)
    {
        var ms = new MemoryStream();
        foreach (var (kind, text) in frames) MultiplexedStreamReader.WriteFrame(ms, kind, Encoding.UTF8.GetBytes(text));
        ms.Position = 0;
        return ms;
    }

    [Fact]
    public async Task ReadLogs_InterleavedFrames_SplitsStdoutAndStderr()
    {
        using var s = Frames((StreamKind.Stdout, "one\n"), (StreamKind.Stderr, "err\n"), (StreamKind.Stdout, "two\n"));
        var logs = await MultiplexedStreamReader.ReadLogsAsync(s, 1024);
        Assert.Equal("one\ntwo\n", logs.StandardOutput);
        Assert.Equal("err\n", logs.StandardError);
        Assert.False(logs.Truncated);
    }

    [Fact]
    public async Task ReadFrames_HeaderBytes_AreBigEndianSizes()
    {
        byte[] raw = [1, 0, 0, 0, 0, 0, 0, 8, .. "started\n"u8.ToArray(), 2, 0, 0, 0, 0, 0, 1, 0, .. new byte[256]];
        var frames = new List<StreamFrame>();
        await foreach (var f in MultiplexedStreamReader.ReadFramesAsync(new MemoryStream(raw))) frames.Add(f);
        Assert.Equal(2, frames.Count);
        Assert.Equal(StreamKind.Stdout, frames[0].Kind);
        Assert.Equal("started\n", Encoding.UTF8.GetString(frames[0].Payload.Span));
        Assert.Equal(StreamKind.Stderr, frames[1].Kind);
        Assert.Equal(256, frames[1].Payload.Length);
    }

    [Fact]
    public async Task ReadFrames_EmptyStream_NoFrames()
    {
        await foreach (var _ in MultiplexedStreamReader.ReadFramesAsync(new MemoryStream())) Assert.Fail("no frame expected");
    }

    [Fact]
    public async Task ReadFrames_TruncatedPayload_Throws()
    {
        byte[] raw = [1, 0, 0, 0, 0, 0, 0, 10, .. "short"u8.ToArray()];
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => { await foreach (var _ in MultiplexedStreamReader.ReadFramesAsync(new MemoryStream(raw))) { } });
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFrames_TruncatedHeader_Throws()
    {
        await Assert.ThrowsAsync<InvalidDataException>(async () => { await foreach (var _ in MultiplexedStreamReader.ReadFramesAsync(new MemoryStream([1, 0, 0]))) { } });
    }

    [Fact]
    public async Task ReadFrames_RawTtyText_RejectedAsNotMultiplexed()
    {
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => { await foreach (var _ in MultiplexedStreamReader.ReadFramesAsync(new MemoryStream("hello world\n"u8.ToArray()))) { } });
        Assert.Contains("TTY", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadFrames_PayloadSplitAcrossReads_Reassembled()
    {
        using var inner = Frames((StreamKind.Stdout, new string('x', 5000)));
        var logs = await MultiplexedStreamReader.ReadLogsAsync(new TrickleStream(inner), 1 << 20);
        Assert.Equal(5000, logs.StandardOutput.Length);
    }

    [Fact]
    public async Task ReadLogs_OverLimit_TruncatedAndFlagged()
    {
        using var s = Frames((StreamKind.Stdout, "0123456789"), (StreamKind.Stdout, "abcdef"));
        var logs = await MultiplexedStreamReader.ReadLogsAsync(s, 12);
        Assert.Equal("0123456789ab", logs.StandardOutput);
        Assert.True(logs.Truncated);
    }

    [Fact]
    public async Task ReadLogs_SystemErrorFrame_ThrowsCompGridException()
    {
        using var s = Frames((StreamKind.Stdout, "ok\n"), (StreamKind.SystemError, "daemon broke"));
        var e = await Assert.ThrowsAsync<CompGridException>(() => MultiplexedStreamReader.ReadLogsAsync(s, 100));
        Assert.Contains("daemon broke", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Returns at most 3 bytes per read, like a slow socket.</summary>
    private sealed class TrickleStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(3, count));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer[..Math.Min(3, buffer.Length)], cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
