#!/usr/bin/env python3
"""verifyCert {all: true} over N loopback TLS hosts, next to the shell loop an operator would
otherwise run (openssl s_client | openssl x509 -fingerprint) over the same hosts and, when
TOFU_BENCH_C names the directory of the bench's C programs, next to the same handshakes from
one C process (bench/c/verify_ceiling.c), the two taken in turn, against hosts served by
bench/c/tls_peers.c. Loopback only.
Run 'swift build -c release' first.

    python3 bench/verify_all.py [HOSTS] [CONCURRENCY]      (default 1000, 32)

Environment: TOFU_RELEASE_DIR (tofu-rpc's directory), TOFU_BENCH_C, TOFU_BENCH_ROUNDS (runs of
each side, default 1), TOFU_BENCH_LOOP_HOSTS (hosts the shell loop is timed on, default all).
The last line is JSON: seconds of tofu and of the C ceiling (medians), tofu-rpc's peak RSS in
MiB (the largest of its runs), the shell loop's seconds and the hosts it covered.
"""
import json, os, subprocess, sys, tempfile, time

hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
server = os.path.join(os.environ.get("TOFU_RELEASE_DIR", os.path.join(root, ".build", "release")), "tofu-rpc")
cbin = os.environ.get("TOFU_BENCH_C")
rounds = int(os.environ.get("TOFU_BENCH_ROUNDS", "1"))
loop_hosts = min(hosts, int(os.environ.get("TOFU_BENCH_LOOP_HOSTS", str(hosts))))
work = tempfile.mkdtemp(prefix="tofu-verify-all-")
cert, key = os.path.join(work, "c.pem"), os.path.join(work, "k.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", cert, "-subj", "/CN=kong", "-days", "365"], check=True, capture_output=True)
pem = open(cert).read()

# The hosts: bench/c/tls_peers.c when the C programs are built (one C process; the Python
# fixture of the tests spends about twice the CPU per handshake in one interpreter, so with it
# the hosts, not the clients, set the pace), else Tests/Fixtures/tls_peers.py.
if cbin:
    fixture = subprocess.Popen([os.path.join(cbin, "tls_peers"), cert, key, str(hosts)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    ports = [int(fixture.stdout.readline()) for _ in range(hosts)]
else:
    fixture = subprocess.Popen([sys.executable, os.path.join(root, "Tests", "Fixtures", "tls_peers.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    fixture.stdin.write(json.dumps({"op": "listen", "mode": "tls", "host": "127.0.0.1", "cert": cert, "key": key, "count": hosts}) + "\n")
    fixture.stdin.flush()
    ports = json.loads(fixture.stdout.readline())["ports"]
ports_file = os.path.join(work, "ports")
open(ports_file, "w").write("".join(f"{p}\n" for p in ports))

store = os.path.join(work, "store.sqlite")
seed = "".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "pinCert", "params": {"host": f"127.0.0.1:{p}", "pem": pem}}) + "\n"
               for i, p in enumerate(ports))
subprocess.run([server, "--store", store], input=seed.encode(), check=True, capture_output=True)
request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "verifyCert", "params": {"all": True, "concurrency": concurrency}}) + "\n"


def tofu_run():
    """One verifyCert {all} by tofu-rpc: seconds, peak RSS in MiB."""
    rss_file = os.path.join(work, "rss")
    start = time.monotonic()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file, server, "--store", store], input=request.encode(), check=True,
                         capture_output=True).stdout
    elapsed = time.monotonic() - start
    results = json.loads(out.splitlines()[-1])["result"]["results"]
    matched = sum(1 for r in results if r["status"] == "match")
    assert matched == hosts, f"tofu-rpc matched {matched} of {hosts} hosts"
    return elapsed, int(open(rss_file).read().split()[-1]) / 1024


def ceiling_run():
    out = subprocess.run([os.path.join(cbin, "verify_ceiling"), ports_file, str(concurrency)], check=True, capture_output=True, text=True)
    seconds, hashed, failed = out.stdout.split()
    assert int(hashed) == hosts and failed == "0", f"the C ceiling hashed {hashed} of {hosts} certificates"
    return float(seconds)


tofu_times, ceiling_times, rss = [], [], 0.0
for _ in range(rounds):
    elapsed, peak = tofu_run()
    tofu_times.append(elapsed); rss = max(rss, peak)
    if cbin:
        ceiling_times.append(ceiling_run())
tofu = sorted(tofu_times)[len(tofu_times) // 2]
ceiling = sorted(ceiling_times)[len(ceiling_times) // 2] if ceiling_times else None

loop = "for p in " + " ".join(map(str, ports[:loop_hosts])) + "; do openssl s_client -connect 127.0.0.1:$p </dev/null 2>/dev/null " \
       "| openssl x509 -noout -fingerprint -sha256; done"
start = time.monotonic()
shell = subprocess.run(["bash", "-c", loop], capture_output=True, text=True).stdout
reference = time.monotonic() - start
fingerprints = sum(1 for line in shell.splitlines() if "Fingerprint=" in line)
fixture.stdin.close(); fixture.wait()

print(f"verifyCert {{all:true}}, {hosts} loopback hosts, concurrency {concurrency}: {tofu:.2f} s, peak RSS {rss:.0f} MiB")
if ceiling is not None:
    print(f"the same handshakes from C: {ceiling:.2f} s (tofu reaches {ceiling / tofu * 100:.0f}% of its rate)")
print(f"openssl s_client | openssl x509 loop, {loop_hosts} of the hosts: {reference:.2f} s")
print(f"ratio: {reference * hosts / loop_hosts / tofu:.1f}x faster")
assert fingerprints == loop_hosts, "not every host was verified by the loop"
print(json.dumps({"tofu": tofu, "ceiling": ceiling, "rss": rss, "reference": reference, "referenceHosts": loop_hosts}))
