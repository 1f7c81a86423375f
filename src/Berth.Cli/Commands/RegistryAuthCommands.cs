using System.Text;
using Berth.Api;
using Berth.Cli.CommandLine;
using Berth.Client;

namespace Berth.Cli.Commands;

// docker login and docker logout, with the credentials in CredentialStore; and the X-Registry-Auth pull and push send.
internal static class RegistryAuthCommands
{
    public static async Task<int> LoginAsync(CliContext ctx, ParsedArgs args)
    {
        var user = args.Get("username") ?? "";
        var password = args.Get("password") ?? "";
        var passwordStdin = args.GetBool("password-stdin");
        if (passwordStdin)
        {
            if (args.IsSet("password"))
            {
                throw new ExitException(1, "conflicting options: cannot specify both --password and --password-stdin");
            }
            if (!args.IsSet("username"))
            {
                throw new ExitException(1, "the --password-stdin option requires --username to be set");
            }
        }
        if (args.IsSet("username") && user.Length == 0)
        {
            throw new ExitException(1, "username is empty");
        }
        if (args.IsSet("password") && password.Length == 0)
        {
            throw new ExitException(1, "password is empty");
        }
        if (password.Length > 0)
        {
            ctx.Err.WriteLine("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        }
        if (passwordStdin)
        {
            using var reader = new StreamReader(ctx.Stdin, Encoding.UTF8, leaveOpen: true);
            password = (await reader.ReadToEndAsync().ConfigureAwait(false)).TrimEnd('\n').TrimEnd('\r');
        }

        var server = args.Positionals.Count > 0 ? args.Positionals[0] : null;
        var key = CredentialStore.LoginKey(server);
        var store = CredentialStore.FromEnvironment(ctx.Env);

        // No credentials given: try the stored ones first, as docker does.
        var stored = store.Get(key, ctx.Err);
        if (user.Length == 0 && password.Length == 0 && stored is { Username.Length: > 0, Password.Length: > 0 })
        {
            ctx.Err.Write($"Authenticating with existing credentials... [Username: {stored.Username}]\n\n" +
                $" Info -> To login with a different account, run '{App.Name} logout' followed by '{App.Name} login'\n\n\n");
            try
            {
                var r = await ctx.Client.SystemAuthAsync(new SystemAuthOptions { Credentials = stored with { ServerAddress = key } }).ConfigureAwait(false);
                if (r.IdentityToken is not null)
                {
                    Save(ctx, store, key, stored.Username!, null, r.IdentityToken, warn: false);
                }
                ctx.Out.WriteLine(r.Status.Length > 0 ? r.Status : "Login Succeeded");
                return 0;
            }
            catch (DockerApiException e)
            {
                ctx.Err.WriteLine($"Login did not succeed, error: Error response from daemon: {e.Message}");
            }
        }

        if (user.Length == 0 || password.Length == 0)
        {
            if (!(ctx.ForwardSignals && Terminal.IsTerminal(0)))
            {
                throw new ExitException(1, "Error: Cannot perform an interactive login from a non TTY device");
            }
            (user, password) = Prompt(ctx, key, user, password, stored?.Username);
        }
        var result = await ctx.Client.SystemAuthAsync(new SystemAuthOptions
        {
            Credentials = new AuthConfig { Username = user, Password = password, ServerAddress = key },
        }).ConfigureAwait(false);
        // docker warns about the plain-text file when what it holds changes.
        var changed = stored is null || stored.Username != user || stored.Password != password || result.IdentityToken is not null;
        Save(ctx, store, key, user, password, result.IdentityToken, warn: changed);
        ctx.Out.WriteLine(result.Status.Length > 0 ? result.Status : "Login Succeeded");
        return 0;
    }

    private static void Save(CliContext ctx, CredentialStore store, string key, string user, string? password, string? identityToken, bool warn)
    {
        try
        {
            store.Store(key, user, password, identityToken);
        }
        catch (CredentialStoreException e)
        {
            throw new ExitException(1, $"Error saving credentials: {e.Message}");
        }
        if (warn)
        {
            ctx.Err.Write($"\nWARNING! Your credentials are stored unencrypted in '{store.FilePath}'.\n\n");
        }
    }

    // docker's ConfigureAuth on a terminal: "Username (default): ", then the password without echo.
    private static (string User, string Password) Prompt(CliContext ctx, string key, string user, string password, string? defaultUser)
    {
        if (key == CredentialStore.IndexServer && user.Length == 0)
        {
            ctx.Out.WriteLine("Log in with your Docker ID or email address to push and pull images from Docker Hub. If you don't have a Docker ID, head over to https://hub.docker.com/ to create one.");
            ctx.Out.WriteLine();
        }
        if (user.Length == 0)
        {
            ctx.Out.Write(defaultUser is { Length: > 0 } d ? $"Username ({d}): " : "Username: ");
            user = ReadLine(ctx.Stdin, echo: true).Trim();
            if (user.Length == 0)
            {
                user = defaultUser ?? "";
            }
            if (user.Length == 0)
            {
                throw new ExitException(1, "Error: Non-null Username Required");
            }
        }
        if (password.Length == 0)
        {
            ctx.Out.Write("Password: ");
            password = ReadLine(ctx.Stdin, echo: false);
            ctx.Out.WriteLine();
            if (password.Length == 0)
            {
                throw new ExitException(1, "Error: Password Required");
            }
        }
        return (user, password);
    }

    // One line from the terminal, byte by byte so nothing after it is consumed; without echo the terminal is in raw
    // mode for the duration, where Enter is '\r' and Ctrl-C is a byte.
    private static string ReadLine(Stream stdin, bool echo)
    {
        using var raw = echo ? null : Terminal.RawStdin();
        var bytes = new List<byte>();
        var b = new byte[1];
        while (stdin.Read(b, 0, 1) == 1)
        {
            if (b[0] is (byte)'\n' or (byte)'\r')
            {
                break;
            }
            if (!echo && b[0] == 3)
            {
                raw?.Dispose();
                throw new ExitException(130);
            }
            if (!echo && b[0] is 127 or 8)
            {
                if (bytes.Count > 0)
                {
                    bytes.RemoveAt(bytes.Count - 1);
                }
                continue;
            }
            bytes.Add(b[0]);
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    public static Task<int> LogoutAsync(CliContext ctx, ParsedArgs args)
    {
        var server = args.Positionals.Count > 0 ? args.Positionals[0] : null;
        var isDefault = string.IsNullOrEmpty(server);
        var key = isDefault ? CredentialStore.IndexServer : server!;
        var hostname = isDefault ? key : CredentialStore.Hostname(key);
        // Older clients saved a registry as a URL; every spelling of it goes.
        List<string> keys = isDefault ? [key] : [key, hostname, "http://" + hostname, "https://" + hostname];
        ctx.Out.WriteLine($"Removing login credentials for {hostname}");
        var store = CredentialStore.FromEnvironment(ctx.Env);
        var errors = new List<string>();
        foreach (var k in keys.Distinct(StringComparer.Ordinal))
        {
            try
            {
                store.Erase(k);
            }
            catch (CredentialStoreException e)
            {
                errors.Add($"{k}: {e.Message}");
            }
        }
        if (errors.Count > 0)
        {
            ctx.Err.WriteLine("WARNING: could not erase credentials:");
            foreach (var e in errors)
            {
                ctx.Err.WriteLine(e);
            }
        }
        return Task.FromResult(0);
    }

    /// <summary>The X-Registry-Config value of a build: every stored login; null when there is none.</summary>
    internal static string? RegistryConfig(CliContext ctx)
    {
        var all = CredentialStore.FromEnvironment(ctx.Env).All(ctx.Err);
        return all.Count == 0 ? null : RegistryAuth.EncodeConfig(all);
    }

    /// <summary>The X-Registry-Auth value for an image on <paramref name="domain"/>, from the stored credentials; null when none.</summary>
    internal static string? RegistryAuthFor(CliContext ctx, string domain)
    {
        var key = CredentialStore.RegistryKey(domain);
        return CredentialStore.FromEnvironment(ctx.Env).Get(key, ctx.Err) is { } auth
            ? RegistryAuth.Encode(auth with { ServerAddress = key })
            : null;
    }
}
