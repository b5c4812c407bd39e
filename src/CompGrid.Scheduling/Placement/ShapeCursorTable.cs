using System.Runtime.CompilerServices;

namespace CompGrid.Placement;

/// <summary>
/// First-fit cursors, one per request shape (the request plus whether GPU nodes are avoided): for a given shape the
/// first fitting node never moves left while capacity only shrinks, so a search starts at the cursor; a release moves
/// the cursors back to the released node. An open-addressing table, cleared when half full. Cursors are hints:
/// searches stay correct without them. Not thread-safe.
/// A release only records the lowest released node; the cursors move back when one is next read. A what-if replay
/// releases tens of thousands of nodes between two searches, and moving every shape's cursor on each release made the
/// replay cost O(releases × shapes); taking the minimum once gives the same cursors, since they only ever move to a min.
/// </summary>
internal sealed class ShapeCursorTable
{
    private const int TableSize = 16384; // power of two; at most half used before the table is cleared

    private readonly PlacementRequest[] _keys = new PlacementRequest[TableSize / 2];
    private readonly bool[] _avoid = new bool[TableSize / 2];
    private readonly int[] _cursor = new int[TableSize / 2];
    private readonly int[] _slots = new int[TableSize]; // 0 = empty, else shape index + 1
    private int _rewindTo = int.MaxValue; // the lowest node released since the cursors were last moved back

    /// <summary>Number of shapes with a cursor.</summary>
    public int Count { get; private set; }

    /// <summary>The cursor of a shape (from <see cref="GetShape"/>).</summary>
    public ref int Cursor(int shape)
    {
        if (_rewindTo != int.MaxValue) ApplyRewind();
        return ref _cursor[shape];
    }

    /// <summary>The shape index of a request, adding it (cursor 0) when new.</summary>
    public int GetShape(in PlacementRequest request, bool avoid)
    {
        int h = Hash(request, avoid) & (TableSize - 1);
        while (true)
        {
            int slot = _slots[h];
            if (slot == 0) break;
            int s = slot - 1;
            if (_avoid[s] == avoid && SameShape(_keys[s], request)) return s;
            h = (h + 1) & (TableSize - 1);
        }
        if (Count == _keys.Length)
        {
            Reset();
            return GetShape(request, avoid);
        }
        int id = Count++;
        _keys[id] = request;
        _avoid[id] = avoid;
        _cursor[id] = 0;
        _slots[h] = id + 1;
        return id;
    }

    /// <summary>Moves every cursor past <paramref name="node"/> back to it (the node gained capacity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Rewind(int node)
    {
        if (node < _rewindTo) _rewindTo = node;
    }

    private void ApplyRewind()
    {
        int[] c = _cursor;
        int node = _rewindTo;
        for (int s = 0; s < Count; s++)
            if (c[s] > node) c[s] = node;
        _rewindTo = int.MaxValue;
    }

    /// <summary>Forgets every cursor.</summary>
    public void Reset()
    {
        Array.Clear(_slots);
        Count = 0;
        _rewindTo = int.MaxValue;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(in PlacementRequest r, bool avoid)
    {
        ulong h = (ulong)r.Cpus * 0x9E3779B97F4A7C15UL ^ (ulong)r.MemoryMiB * 0xC2B2AE3D27D4EB4FUL ^ ((ulong)r.Gpus << 40) ^ ((ulong)r.Nodes << 20)
            ^ r.RequiredFeatures * 0x165667B19E3779F9UL ^ r.ForbiddenFeatures * 0x27D4EB2F165667C5UL ^ r.PartitionMask * 0x94D049BB133111EBUL
            ^ ((ulong)r.GpuModel << 52) ^ (r.Exclusive ? 1UL << 63 : 0) ^ (avoid ? 1UL << 62 : 0);
        h ^= h >> 31;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 29;
        return (int)h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SameShape(in PlacementRequest a, in PlacementRequest b) =>
        a.Cpus == b.Cpus && a.MemoryMiB == b.MemoryMiB && a.Gpus == b.Gpus && a.Nodes == b.Nodes && a.RequiredFeatures == b.RequiredFeatures
        && a.ForbiddenFeatures == b.ForbiddenFeatures && a.PartitionMask == b.PartitionMask && a.GpuModel == b.GpuModel && a.Exclusive == b.Exclusive;
}
