#!/usr/bin/env python3
"""verifyCert {all: true} over N loopback TLS hosts, next to the shell loop an operator would
otherwise run (openssl s_client | openssl x509 -fingerprint) over the same hosts, in one run.
Loopback only. Run 'swift build -c release' first.

    python3 bench/verify_all.py [HOSTS] [CONCURRENCY]      (default 1000, 32)
"""
import json, os, subprocess, sys, tempfile, time

hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 32
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
server = os.path.join(os.environ.get("TOFU_RELEASE_DIR", os.path.join(root, ".build", "release")), "tofu-rpc")
work = tempfile.mkdtemp(prefix="tofu-verify-all-")
cert, key = os.path.join(work, "c.pem"), os.path.join(work, "k.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", cert, "-subj", "/CN=kong", "-days", "365"], check=True, capture_output=True)
pem = open(cert).read()

fixture = subprocess.Popen([sys.executable, os.path.join(root, "Tests", "Fixtures", "tls_peers.py")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
fixture.stdin.write(json.dumps({"op": "listen", "mode": "tls", "cert": cert, "key": key, "count": hosts}) + "\n")
fixture.stdin.flush()
ports = json.loads(fixture.stdout.readline())["ports"]

store = os.path.join(work, "store.sqlite")
seed = "".join(json.dumps({"jsonrpc": "2.0", "id": i, "method": "pinCert", "params": {"host": f"127.0.0.1:{p}", "pem": pem}}) + "\n"
               for i, p in enumerate(ports))
subprocess.run([server, "--store", store], input=seed.encode(), check=True, capture_output=True)

request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "verifyCert", "params": {"all": True, "concurrency": concurrency}}) + "\n"
start = time.monotonic()
out = subprocess.run([server, "--store", store], input=request.encode(), check=True, capture_output=True).stdout
tofu = time.monotonic() - start
results = json.loads(out.splitlines()[-1])["result"]["results"]
matched = sum(1 for r in results if r["status"] == "match")

loop = "for p in " + " ".join(map(str, ports)) + "; do openssl s_client -connect 127.0.0.1:$p </dev/null 2>/dev/null " \
       "| openssl x509 -noout -fingerprint -sha256; done"
start = time.monotonic()
shell = subprocess.run(["bash", "-c", loop], capture_output=True, text=True).stdout
reference = time.monotonic() - start
fingerprints = sum(1 for line in shell.splitlines() if "Fingerprint=" in line)
fixture.stdin.close(); fixture.wait()

print(f"verifyCert {{all:true}}, {hosts} loopback hosts, concurrency {concurrency}: {tofu:.2f} s ({matched} matched)")
print(f"openssl s_client | openssl x509 loop, same hosts: {reference:.2f} s ({fingerprints} fingerprints)")
print(f"ratio: {reference / tofu:.1f}x faster")
assert matched == hosts and fingerprints == hosts, "not every host was verified"
print(json.dumps({"tofu": tofu, "reference": reference}))
