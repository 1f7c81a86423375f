using System.Text.RegularExpressions;

namespace Berth.Daemon.Http;

/// <summary>
/// The Engine API's version prefix: any /v1.NN/ from <see cref="Min"/> to <see cref="Current"/>, or none.
/// Strips the prefix so routes are written once, and stamps every response with Api-Version and Server.
/// </summary>
internal static partial class ApiVersion
{
    public const string Current = "1.51";
    public const string Min = "1.24";
    public const string ServerVersion = "28.2.2-berth";
    public const string ServerHeader = $"Berth/{ServerVersion} (linux)";
    private const string ItemKey = "berth.api-version";

    // dockerd's route prefix is /v{version:[0-9.]+}: /v1/ is a version too (a far too old one), not an unknown path.
    [GeneratedRegex(@"^/v(\d+)(?:\.(\d+))?(/.*)?$")]
    private static partial Regex Prefix();

    public static (int Major, int Minor) Parse(string v)
    {
        var parts = v.Split('.');
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }

    /// <summary>The version the request asked for (or the current one), for behaviour that changed between versions.</summary>
    public static (int Major, int Minor) Of(HttpContext ctx) =>
        ctx.Items.TryGetValue(ItemKey, out var v) && v is ValueTuple<int, int> t ? t : Parse(Current);

    /// <summary>Splits a /v1.NN prefix off a path; the error is Docker's when the version is out of range.</summary>
    public static (string Path, (int, int)? Version, string? Error) Strip(string path)
    {
        var m = Prefix().Match(path);
        if (!m.Success) return (path, null, null);
        var rest = m.Groups[3].Success ? m.Groups[3].Value : "/";
        var text = m.Groups[2].Success ? $"{m.Groups[1].Value}.{m.Groups[2].Value}" : m.Groups[1].Value;
        int minor = 0;
        // Digits beyond int range are simply a version far too new.
        if (!int.TryParse(m.Groups[1].Value, out var major) || (m.Groups[2].Success && !int.TryParse(m.Groups[2].Value, out minor)))
            return (rest, null, $"client version {text} is too new. Maximum supported API version is {Current}");
        var asked = (major, minor);
        if (asked.CompareTo(Parse(Min)) < 0)
            return (rest, asked, $"client version {text} is too old. Minimum supported API version is {Min}, please upgrade your client to a newer version");
        if (asked.CompareTo(Parse(Current)) > 0)
            return (rest, asked, $"client version {text} is too new. Maximum supported API version is {Current}");
        return (rest, asked, null);
    }

    public static async Task Middleware(HttpContext ctx, RequestDelegate next)
    {
        ctx.Response.Headers["Api-Version"] = Current;
        ctx.Response.Headers["Server"] = ServerHeader;
        ctx.Response.Headers["Docker-Experimental"] = "false";
        ctx.Response.Headers["Ostype"] = "linux";
        var (path, version, error) = Strip(ctx.Request.Path.Value ?? "/");
        if (error is not null)
        {
            await HttpJson.WriteErrorAsync(ctx, 400, error);
            return;
        }
        if (version is { } v)
        {
            ctx.Items[ItemKey] = v;
            ctx.Request.Path = path;
        }
        await next(ctx);
    }
}
