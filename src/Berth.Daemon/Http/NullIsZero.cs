using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Berth.Daemon.Http;

/// <summary>
/// Reads a JSON null into a number or bool field as its zero value, as dockerd's Go decoder does: clients send
/// nulls for fields they leave unset (docker-py's healthcheck sends <c>"Timeout": null</c>), and dockerd takes them.
/// A nullable field still reads null as null. Numbers in strings are read as the serializer's options allow.
/// </summary>
internal sealed class NullIsZero<T>(JsonConverter<T> builtIn) : JsonConverter<T> where T : struct, IParsable<T>
{
    public override bool HandleNull => true;

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return default;
        if (reader.TokenType == JsonTokenType.String && typeof(T) != typeof(bool)
            && (options.NumberHandling & JsonNumberHandling.AllowReadingFromString) != 0)
        {
            return T.TryParse(reader.GetString(), CultureInfo.InvariantCulture, out var v)
                ? v : throw new JsonException($"\"{reader.GetString()}\" is not a number");
        }
        return builtIn.Read(ref reader, typeToConvert, options);
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => builtIn.Write(writer, value, options);
}

internal static class NullIsZero
{
    /// <summary>The converters for every number and bool type the API's records hold.</summary>
    public static IEnumerable<JsonConverter> Converters() =>
    [
        new NullIsZero<bool>(JsonMetadataServices.BooleanConverter),
        new NullIsZero<int>(JsonMetadataServices.Int32Converter),
        new NullIsZero<long>(JsonMetadataServices.Int64Converter),
        new NullIsZero<uint>(JsonMetadataServices.UInt32Converter),
        new NullIsZero<ulong>(JsonMetadataServices.UInt64Converter),
        new NullIsZero<double>(JsonMetadataServices.DoubleConverter),
    ];
}
