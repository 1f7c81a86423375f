using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Registry;

/// <summary>Removes abandoned uploads periodically (a quarter of the maximum age, at most every 10 minutes).</summary>
internal sealed class UploadJanitor(RegistryService registry, ILogger<UploadJanitor> log, TimeProvider? time = null) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(registry.Options.UploadMaxAge.Ticks / 4, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromMinutes(10).Ticks));
        using var timer = new PeriodicTimer(period, time ?? TimeProvider.System);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var n = registry.ReapAbandonedUploads();
                    if (n > 0) RegistryLog.UploadsReaped(log, n);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
                {
                    RegistryLog.JanitorFailed(log, e);
                }
            }
        }
        catch (OperationCanceledException) { }
    }
}
