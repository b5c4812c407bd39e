using System.Text.Json;
using System.Text.Json.Serialization;

namespace CompGrid;

/// <summary>The JSON conventions CompGrid uses on the wire and in stores: camelCase names, enums as their names (for example "Completed").</summary>
public static class CompGridJson
{
    /// <summary>Shared serializer options (read-only).</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        o.Converters.Add(new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }
}
