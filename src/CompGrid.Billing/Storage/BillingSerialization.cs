using System.Text.Json;
using System.Text.Json.Serialization;

namespace CompGrid.Billing;

/// <summary>The JSON form billing stores keep grants, rate cards and cost breakdowns in (camelCase, enums as strings, exact decimals).</summary>
public static class BillingSerialization
{
    /// <summary>The serializer options.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Serializes a value.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Deserializes a value; throws <see cref="FormatException"/> on null.</summary>
    public static T Deserialize<T>(string json) => JsonSerializer.Deserialize<T>(json, Options) ?? throw new FormatException($"The stored JSON holds no {typeof(T).Name}.");

    /// <summary>A deep copy through JSON (for stores that keep objects in memory).</summary>
    public static T Clone<T>(T value) => Deserialize<T>(Serialize(value));
}
