using System.Net;
using System.Net.Sockets;

namespace Berth.Integration.Tests;

/// <summary>
/// A DNS server of the test's own on a random 127.x address, port 53: answers every A query with 10.9.8.7 and records
/// the names it was asked, so a test can tell which names left the embedded DNS. Stopped on dispose (bounded).
/// </summary>
public sealed class LoopbackDns : IAsyncDisposable
{
    public const string Answer = "10.9.8.7";

    private readonly UdpClient _udp;
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(120));
    private readonly List<string> _asked = [];
    private readonly Task _serve;

    public LoopbackDns()
    {
        Address = IPAddress.Parse($"127.{Random.Shared.Next(100, 250)}.{Random.Shared.Next(1, 250)}.{Random.Shared.Next(1, 250)}");
        _udp = new UdpClient(new IPEndPoint(Address, 53));
        _serve = Task.Run(ServeAsync);
    }

    public IPAddress Address { get; }

    /// <summary>The names asked so far.</summary>
    public IReadOnlyList<string> Asked
    {
        get { lock (_asked) return [.. _asked]; }
    }

    private async Task ServeAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var got = await _udp.ReceiveAsync(_stop.Token);
                var q = got.Buffer;
                int end = 12;
                var labels = new List<string>();
                while (end < q.Length && q[end] != 0) { labels.Add(System.Text.Encoding.ASCII.GetString(q, end + 1, q[end])); end += q[end] + 1; }
                lock (_asked) _asked.Add(string.Join('.', labels));
                end += 5; // the root label, type and class
                if (end > q.Length) continue;
                var answer = new List<byte>(q[..end]);
                answer[2] = 0x81; answer[3] = 0x80; // response, RD, RA, NOERROR
                bool typeA = q[end - 3] == 1;
                answer[6] = 0; answer[7] = (byte)(typeA ? 1 : 0); // one answer for type A
                answer[8] = answer[9] = answer[10] = answer[11] = 0;
                if (typeA) answer.AddRange(new byte[] { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 9, 8, 7 });
                await _udp.SendAsync(answer.ToArray(), got.RemoteEndPoint, _stop.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        await _serve;
        _stop.Dispose();
    }
}
