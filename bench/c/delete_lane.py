#!/usr/bin/env python3
"""deleteCert's round trip, tofu-rpc against this design in C, outside `make bench`: repeated
runs for ranges, and the placements `make bench` does not control. Loopback only: no network;
the servers run over pipes from `loadgen`.

    python3 bench/c/delete_lane.py RELEASE_BIN_DIR C_BIN_DIR [RUNS]

Each run: the four sides of bench.py's deleteCert rows (tofu-rpc, `delete_txn`, `pin_server`,
`pin_server --write-thread`) and `pin_server --hand-off-input` (the thread that reads a delete
runs it, after handing the input to another: the hop off the round trip's path), 1,000 timed
deletes each after 200 untimed, taken in turn for 3 rounds, medians, on disk and on tmpfs; then context switches and server CPU per delete
(`perf stat`, 800 deletes less 200, tmpfs); then, once, the tmpfs round trip with client and
server pinned by `taskset` to one CPU ("same") and to two ("apart"), and the write thread let
run on either ("spread"). Every side deletes hosts of its own from a copy of one store of 100,000
pins, seeded as bench.py seeds it (the first pin by tofu-rpc, the rest copies of its rows).
"""
import json, os, random, shutil, sqlite3, statistics, subprocess, sys, tempfile

release, cbin = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
server = os.path.join(release, "tofu-rpc")
loadgen, pin_server, delete_txn = (os.path.join(cbin, name) for name in ("loadgen", "pin_server", "delete_txn"))
PINS, TIMED, WARM, ROUNDS = 100_000, 1_000, 200, 3
work = tempfile.mkdtemp(prefix="tofu-delete-lane-")
memory = tempfile.mkdtemp(prefix="tofu-delete-lane-", dir="/dev/shm")


def run(command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, **kwargs)


def request(id, method, **params):
    return json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": params}) + "\n"


def host(i):
    return f"h{i:06d}.example"


def seed(store):
    key, cert = os.path.join(work, "kong.key"), os.path.join(work, "kong.crt")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
         "-subj", "/CN=kong", "-days", "365"])
    answer = run([server, "--store", store], input=request(1, "pinCert", host=host(0), pem=open(cert).read()).encode()).stdout
    assert b'"error"' not in answer, answer
    columns = ("host, address, port, der, sha256Fingerprint, spkiSha256, subject, issuer, serialNumber, notBefore, notAfter, "
               "subjectAltNames, publicKey, pinnedAt, lastVerifiedAt, policy, nextDer, nextSha256Fingerprint, nextSpkiSha256, "
               "nextSubject, nextIssuer, nextSerialNumber, nextNotBefore, nextNotAfter, nextSubjectAltNames, nextPublicKey, nextStagedAt")
    copied = columns.split(", ", 3)[3]
    db = sqlite3.connect(store)
    series = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {PINS - 1})"
    first = host(0) + "_443"
    db.execute(f"{series} INSERT INTO pin ({columns}) SELECT printf('h%06d.example_443', i), printf('h%06d.example', i), port, "
               f"{copied} FROM pin, n WHERE pin.host = ?", (first,))
    db.execute(f"{series} INSERT INTO event (at, host, event, sha256Fingerprint, detail) SELECT at, printf('h%06d.example_443', i), "
               f"event, sha256Fingerprint, detail FROM event, n WHERE event.host = ?", (first,))
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def fresh(source, target):
    """A copy of `source` at `target`, whose hosts are then taken from the first again."""
    global hosts
    hosts = iter(order)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(target + suffix):
            os.remove(target + suffix)
    shutil.copy(source, target)


origin = os.path.join(work, "origin.sqlite")
seed(origin)
order = random.Random(19).sample(range(1, PINS), PINS - 1)
hosts = iter(order)


def take(count=TIMED + WARM):
    return [next(hosts) for _ in range(count)]


def roundtrip(directory, command, client=None, placed=None):
    path = os.path.join(directory, "deletes.ndjson")
    open(path, "w").write("".join(request(n, "deleteCert", host=host(i)) for n, i in enumerate(take())))
    pin = (lambda cpus: ["taskset", "-c", cpus])
    arguments = (pin(client) if client else []) + [loadgen, "roundtrip", str(TIMED), path, "--"] + (pin(placed) if placed else []) + command
    return float(run(arguments).stdout.split()[0])


def transaction(directory, store, cpu=None):
    path = os.path.join(directory, "deletes.hosts")
    open(path, "w").write("".join(host(i) + "_443\n" for i in take()))
    return float(run((["taskset", "-c", cpu] if cpu else []) + [delete_txn, store, path, str(WARM)]).stdout.split()[0])


def sides(directory, store):
    return {"tofu": lambda: roundtrip(directory, [server, "--store", store]), "txn": lambda: transaction(directory, store),
            "pipes": lambda: roundtrip(directory, [pin_server, store]), "lane": lambda: roundtrip(directory, [pin_server, "--write-thread", store]),
            "handoff": lambda: roundtrip(directory, [pin_server, "--hand-off-input", store])}


def alternated(place, directory):
    store = os.path.join(directory, "store.sqlite")
    fresh(origin, store)
    figures = {name: [] for name in sides(directory, store)}
    for _ in range(ROUNDS):
        for name, measure in sides(directory, store).items():
            figures[name].append(measure())
    m = {name: statistics.median(values) for name, values in figures.items()}
    print(f"{place:5s} us: " + ", ".join(f"{name} {value:.0f}" for name, value in m.items())
          + f" | lane/txn {m['lane'] / m['txn']:.2f}, pipes/txn {m['pipes'] / m['txn']:.2f}, tofu/txn {m['tofu'] / m['txn']:.2f},"
          f" tofu/lane {m['tofu'] / m['lane']:.2f}, lane/pipes {m['lane'] / m['pipes']:.2f}, handoff/txn {m['handoff'] / m['txn']:.2f}"
          f" (load {os.getloadavg()[0]:.1f})", flush=True)


def switches():
    store, counted = os.path.join(memory, "switches.sqlite"), os.path.join(work, "perf.csv")
    path = os.path.join(memory, "switches.ndjson")
    open(path, "w").write("".join(request(n, "deleteCert", host=host(i)) for n, i in enumerate(take(800))))
    def counts(command, total):
        fresh(origin, store)
        run([loadgen, "roundtrip", str(total), path, "--", "perf", "stat", "-x,", "-e", "context-switches,task-clock", "-o", counted, "--"]
            + command + [store])
        return {line.split(",")[2]: float(line.split(",")[0]) for line in open(counted) if line[:1].isdigit()}
    figures = []
    for name, command in (("tofu", [server, "--store"]), ("pipes", [pin_server]), ("lane", [pin_server, "--write-thread"]),
                          ("handoff", [pin_server, "--hand-off-input"])):
        few, more = counts(command, 100), counts(command, 600)
        figures.append(f"{name} {(more['context-switches'] - few['context-switches']) / 600:.2f}"
                       f" ({(more['task-clock'] - few['task-clock']) / 600 * 1000:.0f} us)")
    print("tmpfs context switches a delete (server CPU): " + ", ".join(figures), flush=True)


def placements():
    store = os.path.join(memory, "placed.sqlite")
    fresh(origin, store)
    cases = {"txn": lambda: transaction(memory, store, "1")}
    for name, command in (("pipes", [pin_server, store]), ("lane", [pin_server, "--write-thread", store]),
                          ("handoff", [pin_server, "--hand-off-input", store]), ("tofu", [server, "--store", store])):
        cases[f"{name} same"] = lambda command=command: roundtrip(memory, command, "0", "0")
        cases[f"{name} apart"] = lambda command=command: roundtrip(memory, command, "0", "1")
    cases["lane spread"] = lambda: roundtrip(memory, [pin_server, "--write-thread", store], "0", "0,1")
    cases["handoff spread"] = lambda: roundtrip(memory, [pin_server, "--hand-off-input", store], "0", "0,1")
    figures = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, measure in cases.items():
            figures[name].append(measure())
    txn = statistics.median(figures["txn"])
    print("tmpfs placed (client CPU 0; server CPU 0 = same, 1 = apart, 0-1 = spread): "
          + ", ".join(f"{name} {statistics.median(values):.0f} us ({statistics.median(values) / txn:.2f}x txn)"
                      for name, values in figures.items()), flush=True)


try:
    for _ in range(runs):
        alternated("disk", work)
        alternated("tmpfs", memory)
        switches()
    placements()
finally:
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(memory, ignore_errors=True)
