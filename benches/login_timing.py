#!/usr/bin/env python3
"""Login timing benchmark: does a wrong password take as long as an unknown email?

Starts `admit serve` (debug build, fresh data dir) on a free loopback port, times loginUser for
a known user with the right password, with a wrong password, and for an unknown email, and
prints medians and the wrong/unknown ratio (1.00 means indistinguishable). Prints figures;
asserts nothing. Run: cargo build -p admit && python3 benches/login_timing.py [rounds]
"""
import json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request, urllib.error

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "debug", "admit")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def timed(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except urllib.error.HTTPError as e:
        e.read()
    return (time.perf_counter() - t) * 1000

def main():
    port = free_port()
    data = tempfile.mkdtemp(prefix="admit-bench-")
    server = subprocess.Popen([BIN, "serve", "--addr", f"127.0.0.1:{port}", "--data-dir", data],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in server.stdout:
            if line.startswith("admit listening on"):
                break
        url = f"http://127.0.0.1:{port}/rest/user/login"
        ok, wrong, unknown = [], [], []
        for _ in range(ROUNDS):
            # Three wrong passwords then the right one: stays under the lockout threshold.
            for _ in range(3):
                wrong.append(timed(url, {"emailAddress": "demo@admit.example", "password": "wrong-1"}))
                unknown.append(timed(url, {"emailAddress": "nobody@admit.example", "password": "wrong-1"}))
            ok.append(timed(url, {"emailAddress": "demo@admit.example", "password": "demo-pass-2026"}))
        for name, v in (("right password", ok), ("wrong password", wrong), ("unknown email", unknown)):
            print(f"{name:15} n={len(v):3}  median {statistics.median(v):6.1f} ms  p90 {sorted(v)[int(len(v)*0.9)]:6.1f} ms")
        print(f"ratio wrong/unknown (medians): {statistics.median(wrong) / statistics.median(unknown):.2f}")
    finally:
        server.terminate()
        server.wait()

if __name__ == "__main__":
    main()
