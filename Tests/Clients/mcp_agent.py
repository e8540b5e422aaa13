#!/usr/bin/env python3
"""An agent's view of tofu-rpc, through the official MCP Python SDK (package `mcp`), on loopback only.

usage: mcp_agent.py TOFU_RPC TLS_PEERS_PY

The SDK's stdio client starts tofu-rpc on a fresh store and connects as it does by default
(it probes the stateless revision's server/discover, then falls back to the initialize
handshake); then this script lists the tools (every input and output schema must be valid
JSON Schema), calls every tool (the SDK validates each structured result against the tool's
output schema), walks the outage against the fake DNA Center of Tests/Fixtures/tls_peers.py
(the mismatch comes back as an isError result, the one-step re-pin with acceptFingerprint
mends it), receives progress on verifyCert {all}, cancels one such run, and gets the prompt.
The controller's password never appears in anything tofu-rpc writes. Exits non-zero, saying
why, on the first thing that is not so.
"""
import json
import os
import subprocess
import sys
import tempfile

import anyio
import warnings
from jsonschema.validators import validator_for
from mcp import Client, MCPDeprecationWarning, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client

# ping belongs to the handshake revisions, which tofu speaks: the SDK's notice that 2026-07-28 dropped it is not news.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

TOFU_RPC, TLS_PEERS = sys.argv[1], sys.argv[2]
PASSWORD = "pw-mcp-\u00e9-7f3a9c"
WRONG_PASSWORD = "pw-wrong-51be02"


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def make_certificate(directory, name):
    """A self-signed CN = kong certificate made by openssl, and its SHA-256 fingerprint as openssl prints it."""
    cert, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/CN=kong",
                    "-days", "365", "-addext", "subjectAltName=DNS:kong", "-keyout", key, "-out", cert], check=True, capture_output=True)
    line = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"], check=True, capture_output=True, text=True).stdout
    return {"cert": cert, "key": key, "pem": open(cert).read(), "fingerprint": line.strip().split("=", 1)[1]}


class Peers:
    """Tests/Fixtures/tls_peers.py: TLS servers and a fake DNA Center on 127.0.0.1."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, TLS_PEERS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def command(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        check(answer.get("ok"), f"tls_peers refused {command['op']}: {answer}")
        return answer

    def listen(self, certificate, count=1, mode="tls", host="127.0.0.1", **options):
        answer = self.command(op="listen", mode=mode, host=host, cert=certificate["cert"], key=certificate["key"], count=count, **options)
        address = f"[{host}]" if ":" in host else host
        return [(identifier, f"{address}:{port}", f"{host}_{port}") for identifier, port in zip(answer["ids"], answer["ports"])]

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=20)


async def call(client, called, name, arguments, **options):
    """tools/call, remembering which tools were called; the SDK has checked the structured result."""
    called.add(name)
    result = await client.call_tool(name, arguments, **options)
    check(len(result.content) == 1 and result.content[0].type == "text", f"{name}: not one text block: {result.content}")
    return result


def structured_error(result, code, kind):
    check(result.is_error, f"expected an isError result, got {result}")
    content = result.structured_content or {}
    check(content.get("code") == code, f"expected code {code}: {content}")
    check((content.get("data") or {}).get("kind") == kind, f"expected kind {kind}: {content}")
    check(content.get("message") and result.content[0].text.startswith(content["message"][:40]), f"the text is not the message: {result}")
    return content


async def main():
    work = tempfile.mkdtemp(prefix="tofu-mcp-")
    kong, regenerated = make_certificate(work, "kong"), make_certificate(work, "regenerated")
    peers = Peers()
    errlog = open(os.path.join(work, "tofu-rpc.stderr"), "w+")
    everything = []  # every result tofu-rpc sent, as JSON, for the password check

    server = StdioServerParameters(command=TOFU_RPC, args=["--store", os.path.join(work, "store.sqlite"), "--log-level", "trace"])

    async with Client(stdio_client(server, errlog=errlog), read_timeout_seconds=60) as client:
        # initialize: the newest handshake revision, tools and prompts, instructions for an agent.
        check(client.protocol_version == "2025-11-25", f"negotiated {client.protocol_version}")
        check(client.server_info.name == "tofu-rpc", f"serverInfo {client.server_info}")
        capabilities = client.server_capabilities
        check(capabilities.tools is not None and capabilities.tools.list_changed is False, f"tools capability {capabilities}")
        check(capabilities.prompts is not None, f"prompts capability {capabilities}")
        for word in ["expectedFingerprint", "acceptFingerprint", "person", "recover-certificate-mismatch"]:
            check(word in (client.instructions or ""), f"the instructions do not mention {word}: {client.instructions}")
        await client.send_ping()

        # Every tool: schemas that are JSON Schema, objects in, objects out, truthful hints.
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        check({"listCerts", "deleteCert", "verifyCert", "addDnacServer", "pinCert", "certHistory", "setPinPolicy",
               "listDnacServers", "removeDnacServer"} <= set(tools), f"tools: {sorted(tools)}")
        check(not ({"initialize", "initialized", "shutdown", "exit", "$/cancelRequest", "rpc.discover"} & set(tools)), f"lifecycle as tools: {sorted(tools)}")
        for tool in tools.values():
            for schema in (tool.input_schema, tool.output_schema):
                check(schema is not None and schema.get("type") == "object", f"{tool.name}: schema is not an object's: {schema}")
                validator_for(schema).check_schema(schema)
            check(tool.description and len(tool.description) > 80, f"{tool.name}: no description for a model")
        hints = {name: tools[name].annotations for name in tools}
        check(hints["listCerts"].read_only_hint is True and hints["certHistory"].read_only_hint is True, "listing tools are read-only")
        check(hints["verifyCert"].read_only_hint is False and hints["verifyCert"].open_world_hint is True, "verifyCert writes and dials")
        for name in ["deleteCert", "removeDnacServer", "addDnacServer"]:
            check(hints[name].destructive_hint is True, f"{name} is destructive")
        check(hints["listCerts"].open_world_hint is False and hints["addDnacServer"].open_world_hint is True, "open world hints")
        check("progressToken" not in tools["verifyCert"].input_schema["properties"], "progressToken travels in _meta, not as an argument")
        called = set()

        # First use: the fake DNA Center is pinned and the credentials are checked over that connection.
        (dnac_id, dnac, dnac_key), = peers.listen(kong, dnac={"username": "admin", "password": PASSWORD})
        add = {"server": dnac, "username": "admin", "password": PASSWORD, "confirmPassword": PASSWORD, "timeoutMs": 5000}
        added = await call(client, called, "addDnacServer", add)
        everything.append(added)
        check(not added.is_error and added.structured_content["pinStatus"] == "pinned", f"first use: {added}")
        check(added.structured_content["authenticated"] is True, f"first use: {added}")
        check(added.content[0].text == f"pinned host={dnac_key};  subject=CN = kong;  sha256={kong['fingerprint']};  authenticated=true", added.content[0].text)

        # PI's lines, as `ncs certvalidation tofu-certs listcerts` prints them.
        listed = await call(client, called, "listCerts", {})
        everything.append(listed)
        check(listed.content[0].text == f"host={dnac_key};  subject=CN = kong", f"listCerts text: {listed.content[0].text!r}")
        check(listed.structured_content["certs"][0]["sha256Fingerprint"] == kong["fingerprint"], f"{listed.structured_content}")

        # The controller regenerates its certificate: the outage.
        peers.command(op="set_cert", id=dnac_id, cert=regenerated["cert"], key=regenerated["key"])
        verified = await call(client, called, "verifyCert", {"host": dnac_key})
        everything.append(verified)
        check(not verified.is_error and verified.structured_content["status"] == "mismatch", f"{verified}")
        check(verified.content[0].text.startswith(f"MISMATCH: {dnac_key} presents a different certificate"), verified.content[0].text)
        check(f"host={dnac_key};  status=mismatch;  change=newKey;  pinned={kong['fingerprint']};  presented={regenerated['fingerprint']}" in verified.content[0].text,
              verified.content[0].text)
        requests_before = len(peers.command(op="requests", id=dnac_id)["requests"])
        refused = await call(client, called, "addDnacServer", add)
        everything.append(refused)
        data = structured_error(refused, -32002, "certificateMismatch")["data"]
        check(data["presented"]["sha256Fingerprint"] == regenerated["fingerprint"] and data["pinned"]["sha256Fingerprint"] == kong["fingerprint"], f"{data}")
        check("a person must confirm" in refused.content[0].text, refused.content[0].text)
        check(len(peers.command(op="requests", id=dnac_id)["requests"]) == requests_before, "credentials went to a certificate that does not match the pin")

        # Deleting takes the fingerprint just listed: another one deletes nothing.
        wrong = await call(client, called, "deleteCert", {"host": dnac_key, "expectedFingerprint": regenerated["fingerprint"]})
        everything.append(wrong)
        structured_error(wrong, -32002, "certificateMismatch")

        # The one-step re-pin, once a person confirmed the presented fingerprint: replaced only after the credentials pass.
        refused_auth = await call(client, called, "addDnacServer", {**add, "password": WRONG_PASSWORD, "confirmPassword": WRONG_PASSWORD,
                                                                  "acceptFingerprint": regenerated["fingerprint"]})
        everything.append(refused_auth)
        structured_error(refused_auth, -32004, "authenticationFailed")
        kept = await call(client, called, "listCerts", {"host": dnac_key})
        check(kept.structured_content["certs"][0]["sha256Fingerprint"] == kong["fingerprint"], "a refused re-pin changed the pin")
        repinned = await call(client, called, "addDnacServer", {**add, "acceptFingerprint": regenerated["fingerprint"]})
        everything.append(repinned)
        check(not repinned.is_error and repinned.structured_content["pinStatus"] == "replaced", f"{repinned}")
        check(repinned.structured_content["authenticated"] is True, f"{repinned}")
        again = await call(client, called, "verifyCert", {"host": dnac_key})
        check(again.structured_content["status"] == "match" and again.content[0].text.startswith(f"MATCH: {dnac_key}"), f"{again}")
        history = await call(client, called, "certHistory", {"host": dnac_key})
        events = [event["event"] for event in history.structured_content["events"]]
        # The history records changes: the verification after the re-pin matches the new pin, which
        # is no change (the replacement was the last verdict), so it adds no event.
        check(events[:1] == ["pinned"] and "mismatch" in events and "replaced" in events
              and "mismatch" not in events[events.index("replaced"):], f"history {events}")
        check(history.content[0].text.splitlines()[0].startswith("at="), history.content[0].text)

        # The rest of the tools: an offline check, a certificate pinned out of band (a port
        # where nothing listens: never dialled by these calls), its policy, the servers.
        offline = await call(client, called, "verifyCert", {"host": dnac_key, "pem": kong["pem"]})
        check(offline.structured_content["status"] == "mismatch", f"{offline}")
        pinned = await call(client, called, "pinCert", {"host": "127.0.0.1:9", "pem": kong["pem"]})
        check(pinned.structured_content["pinStatus"] == "pinned" and pinned.content[0].text.startswith("pinned host=127.0.0.1_9;  subject=CN = kong"), f"{pinned}")
        policy = await call(client, called, "setPinPolicy", {"host": "127.0.0.1_9", "policy": "publicKey"})
        check(policy.structured_content["pin"]["policy"] == "publicKey", f"{policy}")
        servers = await call(client, called, "listDnacServers", {})
        everything.append(servers)
        check([server["server"] for server in servers.structured_content["servers"]] == [dnac_key], f"{servers}")
        check(servers.content[0].text.startswith(f"server={dnac_key};  username=admin;  pinned={regenerated['fingerprint']}"), servers.content[0].text)
        deleted = await call(client, called, "deleteCert", {"host": "127.0.0.1_9", "expectedFingerprint": kong["fingerprint"]})
        check(deleted.content[0].text == f"deleted host=127.0.0.1_9;  subject=CN = kong;  sha256={kong['fingerprint']}", deleted.content[0].text)

        # Malformed arguments are tool results the model can correct (MCP 2025-11-25), naming the argument.
        misspelt = await call(client, called, "deleteCert", {"hostname": dnac_key})
        check(structured_error(misspelt, -32602, "invalidParams")["data"]["field"] == "hostname", f"{misspelt}")
        mismatched = await call(client, called, "addDnacServer", {**add, "confirmPassword": PASSWORD + "x"})
        everything.append(mismatched)
        check(structured_error(mismatched, -32602, "invalidParams")["data"]["field"] == "confirmPassword", f"{mismatched}")
        # An unknown tool is a protocol error.
        try:
            await client.call_tool("noSuchTool", {})
            raise AssertionError("an unknown tool was called")
        except MCPError as error:
            check(error.error.code == -32602, f"unknown tool: {error.error}")

        # Progress on verifyCert {all}: after each host, in order, with the total. Hosts in key
        # order: the DNA Center and three that never answer on 127.0.0.1 (each unreachable after
        # its timeoutMs), then three TLS servers on ::1 ("::1_…" sorts after "127.…").
        silent = peers.listen(kong, count=3, mode="silent")
        late = peers.listen(kong, count=3, host="::1")
        for _, address, _ in silent + late:
            await call(client, called, "pinCert", {"host": address, "pem": kong["pem"]})
        total = 1 + len(silent) + len(late)
        seen = []

        async def progress(value, of, message):
            seen.append((value, of, message))

        run = await call(client, called, "verifyCert", {"all": True, "concurrency": 1, "timeoutMs": 1000}, progress_callback=progress)
        statuses = {result["host"]: result["status"] for result in run.structured_content["results"]}
        check(statuses == {dnac_key: "match"} | {key: "unreachable" for _, _, key in silent} | {key: "match" for _, _, key in late}, f"{statuses}")
        check([value for value, _, _ in seen] == list(range(1, total + 1)) and all(of == total for _, of, _ in seen), f"progress {seen}")
        check([message for _, _, message in seen] == [f"{result['host']}: {result['status']}" for result in run.structured_content["results"]],
              f"progress messages {seen}")
        check(run.content[0].text.startswith(f"Verified {total} pinned hosts: {1 + len(late)} match, {len(silent)} unreachable."), run.content[0].text)

        # Cancelled at its first progress (the DNA Center, or a silent host): the run stops
        # before it reaches the ::1 servers, at least 2 s later (two silent hosts' timeouts),
        # which an uncancelled run verifies within 2 s after the silent ones.
        async def late_matches():
            events = (await client.call_tool("certHistory", {})).structured_content["events"]
            return sum(1 for event in events if event["event"] == "matched" and event["host"].startswith("::1_"))

        before = await late_matches()
        cancelled = anyio.Event()
        with anyio.CancelScope() as scope:
            async def cancel_at_first(value, of, message):
                scope.cancel()
                cancelled.set()

            await client.call_tool("verifyCert", {"all": True, "concurrency": 1, "timeoutMs": 1000}, progress_callback=cancel_at_first)
            raise AssertionError("the cancelled run was answered")
        check(cancelled.is_set(), "the run ended before its first progress")
        await anyio.sleep(1.0 * len(silent) + 2)
        check(await late_matches() == before, "the cancelled run went on to the last hosts")
        await client.send_ping()

        # The prompt that walks the recovery.
        prompts = (await client.list_prompts()).prompts
        check([prompt.name for prompt in prompts] == ["recover-certificate-mismatch"], f"{prompts}")
        check([(argument.name, argument.required) for argument in prompts[0].arguments] == [("host", True)], f"{prompts[0].arguments}")
        prompt = await client.get_prompt("recover-certificate-mismatch", {"host": dnac})
        text = prompt.messages[0].content.text
        for word in [dnac_key, "listCerts", "verifyCert", "confirm", "expectedFingerprint", "acceptFingerprint", "certHistory"]:
            check(word in text, f"the prompt does not mention {word}")
        try:
            await client.get_prompt("recover-certificate-mismatch", {})
            raise AssertionError("a prompt without its host was given")
        except MCPError as error:
            check(error.error.code == -32602, f"prompt without host: {error.error}")

        removed = await call(client, called, "removeDnacServer", {"server": dnac_key})
        check(removed.content[0].text.startswith(f"removed server={dnac_key};  username=admin"), removed.content[0].text)
        check((await client.call_tool("listCerts", {"host": dnac_key})).structured_content["certs"], "removing the server deleted its pin")
        gone = await call(client, called, "removeDnacServer", {"server": dnac_key})
        structured_error(gone, -32001, "dnacServerNotFound")

        # The store's upkeep: a backup (a new file, the store unchanged), then a prune that finds
        # nothing older than the year 2000.
        backup = await call(client, called, "backupStore", {"path": os.path.join(work, "backup.sqlite")})
        check(not backup.is_error and os.path.getsize(os.path.join(work, "backup.sqlite")) > 0, f"{backup}")
        pruned = await call(client, called, "pruneHistory", {"before": "2000-01-01T00:00:00Z"})
        check(not pruned.is_error and pruned.structured_content["pruned"] == 0, f"{pruned}")
        # Moving a store: the export, page by page, taken back into the same store changes nothing.
        records, cursor = [], None
        while True:
            page = await call(client, called, "exportPins", {"limit": 2, **({"cursor": cursor} if cursor else {})})
            check(not page.is_error, f"{page}")
            records += page.structured_content["records"]
            cursor = page.structured_content["nextCursor"]
            if cursor is None:
                break
        check(records[0]["type"] == "header" and records[-1]["type"] == "end", f"export {records[:1]} … {records[-1:]}")
        imported = await call(client, called, "importPins", {"records": records})
        statuses = {host["status"] for host in imported.structured_content["hosts"]}
        check(not imported.is_error and statuses == {"identical"}, f"{imported}")

        check(called == set(tools), f"tools not called: {sorted(set(tools) - called)}")

    peers.stop()
    errlog.flush()
    errlog.seek(0)
    written = errlog.read() + "\n".join(result.model_dump_json() for result in everything)
    for secret in [PASSWORD, WRONG_PASSWORD, json.dumps(PASSWORD)[1:-1]]:
        check(secret not in written, "the controller's password is in what tofu-rpc wrote")
    print(f"mcp_agent: {len(tools)} tools called, the outage walked, progress and cancel seen, the prompt read")


def first_failure(error):
    """The AssertionError inside the task groups' exception groups, if that is what ended the run."""
    if isinstance(error, AssertionError):
        return error
    for inner in getattr(error, "exceptions", []):
        if found := first_failure(inner):
            return found
    return None


if __name__ == "__main__":
    try:
        anyio.run(main)
    except BaseException as error:
        failure = first_failure(error)
        if failure is None:
            raise
        print(f"mcp_agent: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
