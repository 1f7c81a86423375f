using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Api;

namespace Berth.Daemon.Http;

/// <summary>
/// The API's serializer as the daemon writes it: the source-generated <see cref="ApiJsonContext"/> with relaxed
/// escaping, so messages read "No such container: x" rather than \u0022-escaped, as dockerd's do, and a null read
/// into a number or bool as its zero value, as dockerd's decoder reads it (<see cref="NullIsZero{T}"/>).
/// </summary>
internal static class Wire
{
    public static readonly ApiJsonContext Json = new(Options());

    private static JsonSerializerOptions Options()
    {
        var options = new JsonSerializerOptions
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            PropertyNameCaseInsensitive = true,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            NumberHandling = JsonNumberHandling.AllowReadingFromString,
        };
        foreach (var c in NullIsZero.Converters()) options.Converters.Add(c);
        return options;
    }
}
