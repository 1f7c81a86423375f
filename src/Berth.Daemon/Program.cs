using Berth.Core;
using Berth.Daemon;
using Berth.Daemon.Config;

int parsed = DaemonCommandLine.Parse(args, out var options);
if (parsed >= 0) return parsed;
return await DaemonHost.RunAsync(options);
