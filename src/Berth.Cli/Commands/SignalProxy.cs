using System.Runtime.InteropServices;

namespace Berth.Cli.Commands;

// docker's --sig-proxy: while attached, SIGINT/SIGTERM/SIGHUP/SIGQUIT go to the container (POST kill)
// instead of ending the CLI, so the container decides and its exit status still comes back.
internal sealed class SignalProxy : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = [];

    private SignalProxy(CliContext ctx, string id)
    {
        (PosixSignal Signal, string Name)[] signals =
        [
            (PosixSignal.SIGINT, "SIGINT"),
            (PosixSignal.SIGTERM, "SIGTERM"),
            (PosixSignal.SIGHUP, "SIGHUP"),
            (PosixSignal.SIGQUIT, "SIGQUIT"),
        ];
        foreach (var (signal, name) in signals)
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, c =>
            {
                c.Cancel = true;
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await ctx.Client.ContainerKillAsync(id, new Client.ContainerKillOptions { Signal = name }).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is Client.DockerApiException or Client.DaemonUnreachableException)
                    {
                        ctx.Err.WriteLine($"error sending signal: {e.Message}");
                    }
                });
            }));
        }
    }

    public static SignalProxy? Start(CliContext ctx, string id, bool enabled) => enabled && ctx.ForwardSignals ? new SignalProxy(ctx, id) : null;

    public void Dispose()
    {
        foreach (var r in _registrations)
        {
            r.Dispose();
        }
    }
}
