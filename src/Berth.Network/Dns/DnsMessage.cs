using System.Buffers.Binary;
using System.Text;

namespace Berth.Network.Dns;

/// <summary>The question of a DNS query (RFC 1035 §4.1.2). Names are kept as written, without the final dot.</summary>
internal readonly record struct DnsQuestion(string Name, ushort Type, ushort Class);

/// <summary>A parsed DNS query: what the embedded resolver needs to answer or forward it.</summary>
internal sealed record DnsQuery
{
    public required ushort Id { get; init; }
    public required ushort Flags { get; init; }
    public required DnsQuestion Question { get; init; }
    public bool IsResponse => (Flags & 0x8000) != 0;
    public int Opcode => (Flags >> 11) & 0xf;
    public bool RecursionDesired => (Flags & 0x0100) != 0;
}

/// <summary>Reads queries and writes answers in DNS wire format; only what an embedded stub resolver needs.</summary>
internal static class DnsMessage
{
    public const ushort TypeA = 1, TypePtr = 12, TypeAaaa = 28, ClassIn = 1;
    public const int RcodeNoError = 0, RcodeFormErr = 1, RcodeServFail = 2, RcodeNxDomain = 3, RcodeNotImp = 4;
    private const int MaxNameLength = 255;

    /// <summary>Parses a query with exactly one question; false for anything malformed (the caller drops it or answers FORMERR).</summary>
    public static bool TryParseQuery(ReadOnlySpan<byte> msg, out DnsQuery? query)
    {
        query = null;
        if (msg.Length < 12) return false;
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(msg);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(msg[2..]);
        ushort qd = BinaryPrimitives.ReadUInt16BigEndian(msg[4..]);
        if (qd != 1) return false;
        int pos = 12;
        if (!TryReadName(msg, ref pos, out var name)) return false;
        if (pos + 4 > msg.Length) return false;
        var q = new DnsQuestion(name, BinaryPrimitives.ReadUInt16BigEndian(msg[pos..]), BinaryPrimitives.ReadUInt16BigEndian(msg[(pos + 2)..]));
        query = new DnsQuery { Id = id, Flags = flags, Question = q };
        return true;
    }

    /// <summary>The query's ID from a message too broken to parse, for a FORMERR answer; null when not even that.</summary>
    public static ushort? PeekId(ReadOnlySpan<byte> msg) => msg.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(msg) : null;

    /// <summary>Reads a name without compression pointers (a query's question never needs them).</summary>
    private static bool TryReadName(ReadOnlySpan<byte> msg, ref int pos, out string name)
    {
        name = "";
        var sb = new StringBuilder();
        int total = 0;
        while (true)
        {
            if (pos >= msg.Length) return false;
            int len = msg[pos++];
            if (len == 0) break;
            if ((len & 0xc0) != 0 || pos + len > msg.Length) return false; // pointers and extended labels: not in a question
            total += len + 1;
            if (total > MaxNameLength) return false;
            if (sb.Length > 0) sb.Append('.');
            foreach (var b in msg.Slice(pos, len))
            {
                // Labels as bytes; non-printable bytes cannot match a container name, keep them escaped.
                if (b is > 0x20 and < 0x7f && b != '.') sb.Append((char)b);
                else sb.Append('\\').Append(((int)b).ToString("D3", System.Globalization.CultureInfo.InvariantCulture));
            }
            pos += len;
        }
        name = sb.ToString();
        return true;
    }

    /// <summary>
    /// The answer to <paramref name="query"/>: its question echoed, then one A record per address (type A) or
    /// none. <paramref name="rcode"/> NXDOMAIN for names that do not exist; NOERROR with no answer is "no data".
    /// </summary>
    public static byte[] WriteAnswer(DnsQuery query, int rcode, IReadOnlyList<uint> addresses, uint ttl = 600, string? ptrName = null)
    {
        var q = query.Question;
        var name = EncodeName(q.Name);
        int answers = ptrName is not null ? 1 : addresses.Count;
        var ptr = ptrName is null ? null : EncodeName(ptrName);
        int size = 12 + name.Length + 4 + (ptr is not null ? 2 + 10 + ptr.Length : addresses.Count * (2 + 10 + 4));
        var buf = new byte[size];
        var s = buf.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(s, query.Id);
        // QR, opcode echoed, AA (we are the authority for container names), RD echoed, RA, rcode.
        ushort flags = (ushort)(0x8000 | (query.Opcode << 11) | 0x0400 | (query.RecursionDesired ? 0x0100 : 0) | 0x0080 | (rcode & 0xf));
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], flags);
        BinaryPrimitives.WriteUInt16BigEndian(s[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(s[6..], (ushort)answers);
        int pos = 12;
        name.CopyTo(s[pos..]);
        pos += name.Length;
        BinaryPrimitives.WriteUInt16BigEndian(s[pos..], q.Type);
        BinaryPrimitives.WriteUInt16BigEndian(s[(pos + 2)..], q.Class);
        pos += 4;
        if (ptr is not null)
        {
            pos = WriteRecordHeader(s, pos, TypePtr, ttl, (ushort)ptr.Length);
            ptr.CopyTo(s[pos..]);
            return buf;
        }
        foreach (var a in addresses)
        {
            pos = WriteRecordHeader(s, pos, TypeA, ttl, 4);
            BinaryPrimitives.WriteUInt32BigEndian(s[pos..], a);
            pos += 4;
        }
        return buf;
    }

    /// <summary>A bare error answer (FORMERR, SERVFAIL, NOTIMP) for a query we could parse at least the ID of.</summary>
    public static byte[] WriteError(ushort id, ushort queryFlags, int rcode)
    {
        var buf = new byte[12];
        BinaryPrimitives.WriteUInt16BigEndian(buf, id);
        BinaryPrimitives.WriteUInt16BigEndian(buf.AsSpan(2), (ushort)(0x8000 | (queryFlags & 0x7900) | 0x0080 | (rcode & 0xf)));
        return buf;
    }

    private static int WriteRecordHeader(Span<byte> s, int pos, ushort type, uint ttl, ushort rdLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(s[pos..], 0xc00c); // pointer to the question's name at offset 12
        BinaryPrimitives.WriteUInt16BigEndian(s[(pos + 2)..], type);
        BinaryPrimitives.WriteUInt16BigEndian(s[(pos + 4)..], ClassIn);
        BinaryPrimitives.WriteUInt32BigEndian(s[(pos + 6)..], ttl);
        BinaryPrimitives.WriteUInt16BigEndian(s[(pos + 10)..], rdLength);
        return pos + 12;
    }

    /// <summary>A name in wire format (length-prefixed labels, zero-terminated). Only names we parsed or made.</summary>
    public static byte[] EncodeName(string name)
    {
        var list = new List<byte>(name.Length + 2);
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var bytes = Unescape(label);
            if (bytes.Count > 63) throw new ArgumentException($"DNS label too long in {name}", nameof(name));
            list.Add((byte)bytes.Count);
            list.AddRange(bytes);
        }
        list.Add(0);
        return list.ToArray();
    }

    private static List<byte> Unescape(string label)
    {
        var bytes = new List<byte>(label.Length);
        for (int i = 0; i < label.Length; i++)
        {
            if (label[i] == '\\' && i + 3 < label.Length && int.TryParse(label.AsSpan(i + 1, 3), out var v) && v < 256)
            {
                bytes.Add((byte)v);
                i += 3;
            }
            else bytes.Add((byte)label[i]);
        }
        return bytes;
    }

    /// <summary>Reads the rcode and A-record addresses of an answer (tests, and the forwarder's sanity check).</summary>
    public static bool TryReadAnswer(ReadOnlySpan<byte> msg, out ushort id, out int rcode, out List<uint> addresses)
    {
        id = 0;
        rcode = 0;
        addresses = [];
        if (msg.Length < 12) return false;
        id = BinaryPrimitives.ReadUInt16BigEndian(msg);
        rcode = BinaryPrimitives.ReadUInt16BigEndian(msg[2..]) & 0xf;
        int qd = BinaryPrimitives.ReadUInt16BigEndian(msg[4..]), an = BinaryPrimitives.ReadUInt16BigEndian(msg[6..]);
        int pos = 12;
        for (int i = 0; i < qd; i++)
        {
            if (!SkipName(msg, ref pos) || pos + 4 > msg.Length) return false;
            pos += 4;
        }
        for (int i = 0; i < an; i++)
        {
            if (!SkipName(msg, ref pos) || pos + 10 > msg.Length) return false;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(msg[pos..]);
            int rdlen = BinaryPrimitives.ReadUInt16BigEndian(msg[(pos + 8)..]);
            pos += 10;
            if (pos + rdlen > msg.Length) return false;
            if (type == TypeA && rdlen == 4) addresses.Add(BinaryPrimitives.ReadUInt32BigEndian(msg[pos..]));
            pos += rdlen;
        }
        return true;
    }

    private static bool SkipName(ReadOnlySpan<byte> msg, ref int pos)
    {
        for (int guard = 0; guard < 128; guard++)
        {
            if (pos >= msg.Length) return false;
            int len = msg[pos];
            if ((len & 0xc0) == 0xc0) { pos += 2; return pos <= msg.Length; }
            pos++;
            if (len == 0) return true;
            pos += len;
        }
        return false;
    }
}
