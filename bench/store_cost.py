#!/usr/bin/env python3
"""What a large store costs: listCerts over every page, a cold listCerts of one host, and
deleteCert, against the release build of tofu-rpc. Loopback only: no network is used.

    python3 bench/store_cost.py [PINS]        (default 100000; builds nothing, run
                                               'swift build -c release' first)
"""
import json, os, subprocess, sys, tempfile, time

pins = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
server = os.path.join(root, ".build", "release", "tofu-rpc")
work = tempfile.mkdtemp(prefix="tofu-store-cost-")
store = os.path.join(work, "store.sqlite")

subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", os.path.join(work, "k.pem"), "-out", os.path.join(work, "c.pem"), "-subj", "/CN=kong",
                "-days", "365"], check=True, capture_output=True)
pem = open(os.path.join(work, "c.pem")).read()

def run(requests, label):
    """Pipes NDJSON requests through one server; returns (seconds, peak RSS KiB, answers)."""
    data = "".join(json.dumps(r) + "\n" for r in requests).encode()
    start = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", server, "--store", store], input=data, capture_output=True)
    elapsed = time.monotonic() - start
    answers = [json.loads(line) for line in p.stdout.splitlines()]
    errors = [a for a in answers if "error" in a]
    if errors: sys.exit(f"{label}: {len(errors)} errors, first: {errors[0]}")
    return elapsed, int(p.stderr.decode().strip().splitlines()[-1]), answers

seconds, _, _ = run(({"jsonrpc": "2.0", "id": i, "method": "pinCert",
                      "params": {"host": f"h{i:06d}.example", "pem": pem}} for i in range(pins)), "seed")
print(f"seed: {pins} pinCert in {seconds:.1f} s ({seconds / pins * 1e6:.0f} us each, each committed to disk)")

for limit in (1000, 10000):
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", server, "--store", store], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.monotonic(); cursor = None; seen = 0; pages = 0
    while True:
        params = {"limit": limit}
        if cursor: params["cursor"] = cursor
        pages += 1
        p.stdin.write((json.dumps({"jsonrpc": "2.0", "id": pages, "method": "listCerts", "params": params}) + "\n").encode())
        p.stdin.flush()
        result = json.loads(p.stdout.readline())["result"]
        seen += len(result["certs"]); cursor = result["nextCursor"]
        if cursor is None: break
    elapsed = time.monotonic() - start
    p.stdin.close(); rss = int(p.stderr.read().decode().strip().splitlines()[-1]); p.wait()
    print(f"listCerts, every page of {limit}: {seen} pins in {pages} pages, {elapsed:.2f} s, server peak RSS {rss / 1024:.0f} MiB")

times = []
for _ in range(5):
    seconds, rss, _ = run([{"jsonrpc": "2.0", "id": 1, "method": "listCerts", "params": {"host": f"h{pins // 2:06d}.example"}}], "cold")
    times.append(seconds)
print(f"cold process, listCerts one host: median {sorted(times)[2] * 1000:.0f} ms, peak RSS {rss / 1024:.0f} MiB")

deletes = min(1000, pins)
seconds, rss, _ = run(({"jsonrpc": "2.0", "id": i, "method": "deleteCert",
                        "params": {"host": f"h{i * (pins // deletes):06d}.example"}} for i in range(deletes)), "delete")
print(f"deleteCert: {deletes} in {seconds:.2f} s ({seconds / deletes * 1000:.2f} ms each incl. fsync and process start)")
