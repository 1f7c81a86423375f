using System.Text;
using Berth.Core;
using Berth.Core.Interop;
using Berth.Runtime.Shim;

namespace Berth.Shim;

internal static class Program
{
    private static int Main(string[] args)
    {
        // A shim's threads mostly sleep; per-thread malloc arenas would only add dirty pages to every container.
        ShimSys.Mallopt(ShimSys.M_ARENA_MAX, 1);
        ShimOptions options;
        try
        {
            options = ShimOptions.Parse(args);
        }
        catch (BerthException e)
        {
            Report("error " + Encoding.UTF8.GetString(ShimProtocol.EncodeError(e)));
            return 2;
        }
        // Its own session: the daemon's process group may be killed (kill -9, Ctrl-C) while containers keep running.
        Sys.SetSid();
        Sys.Prctl(Sys.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        return new ShimServer(options).Run();
    }

    /// <summary>The one line the launcher reads from our stdout.</summary>
    public static void Report(string line) =>
        ShimSys.WriteAll(1, Encoding.UTF8.GetBytes(line.ReplaceLineEndings(" ").TrimEnd() + "\n"));
}
