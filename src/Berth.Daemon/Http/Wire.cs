using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Berth.Api;

namespace Berth.Daemon.Http;

/// <summary>
/// The API's serializer as the daemon writes it: the source-generated <see cref="ApiJsonContext"/> with relaxed
/// escaping, so messages read "No such container: x" rather than \u0022-escaped, as dockerd's do. Request bodies are
/// read with <see cref="Requests"/>, the same context that also reads a null into a number or bool as its zero value,
/// as dockerd's decoder does (<see cref="NullIsZero{T}"/>); writing keeps no custom converter in its way.
/// </summary>
internal static class Wire
{
    public static readonly ApiJsonContext Json = new(Options(nullIsZero: false));

    private static readonly ApiJsonContext Requests = new(Options(nullIsZero: true));

    /// <summary><paramref name="type"/> as request bodies are read (<see cref="Requests"/>), when the API's context knows it.</summary>
    public static JsonTypeInfo<T> ForReading<T>(JsonTypeInfo<T> type) =>
        Requests.GetTypeInfo(typeof(T)) as JsonTypeInfo<T> ?? type;

    private static JsonSerializerOptions Options(bool nullIsZero)
    {
        var options = new JsonSerializerOptions
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            PropertyNameCaseInsensitive = true,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            NumberHandling = JsonNumberHandling.AllowReadingFromString,
        };
        if (nullIsZero)
            foreach (var c in NullIsZero.Converters()) options.Converters.Add(c);
        return options;
    }
}
