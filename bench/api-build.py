#!/usr/bin/env python3
"""The build benchmark's engine figures: POST /build straight to an engine's socket, no CLI in between.

    api-build.py SOCKET CONTEXT_DIR TAG RUNS  ->  prints "cold_ms cached_ms" (medians over RUNS)

The context is tarred once, as the docker CLI tars it (paths relative to the context, owner 0:0), and the same
bytes go to every request, so what is timed is only the engine: from connecting to the end of the build's
JSON stream. Every build must end with an image ID and no error; every rebuild must say "Using cache"."""
import http.client, io, json, os, socket, statistics, sys, tarfile, time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=300)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def context_tar(root):
    def owned_by_root(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in sorted(os.listdir(root)):
            tar.add(os.path.join(root, name), arcname=name, filter=owned_by_root)
    return buf.getvalue()


def build_ms(sock, body, tag, nocache):
    query = f"t={tag}&rm=1" + ("&nocache=1" if nocache else "")
    t0 = time.perf_counter()
    conn = UnixConnection(sock)
    try:
        conn.request("POST", f"/v1.41/build?{query}", body=body, headers={"Content-Type": "application/x-tar"})
        resp = conn.getresponse()
        stream = resp.read()
    finally:
        conn.close()
    ms = (time.perf_counter() - t0) * 1000
    if resp.status != 200:
        sys.exit(f"build answered {resp.status}: {stream[:500]!r}")
    messages = [json.loads(line) for line in stream.splitlines() if line.strip()]
    errors = [m for m in messages if "error" in m or "errorDetail" in m]
    if errors or not any("aux" in m and "ID" in m["aux"] for m in messages):
        sys.exit(f"build failed: {errors or messages[-3:]}")
    text = "".join(m.get("stream", "") for m in messages)
    if not nocache and "Using cache" not in text:
        print("warning: the rebuild used no cache", file=sys.stderr)
    return ms


def main():
    sock, ctx, tag, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    body = context_tar(ctx)
    build_ms(sock, body, tag, nocache=False)  # warm-up: the engine's caches, JIT, page cache
    cold, cached = [], []
    for _ in range(runs):
        cold.append(build_ms(sock, body, tag, nocache=True))
        cached.append(build_ms(sock, body, tag, nocache=False))
    print(f"{statistics.median(cold):.1f} {statistics.median(cached):.1f}")


if __name__ == "__main__":
    main()
