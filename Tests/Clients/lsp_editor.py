#!/usr/bin/env python3
"""An editor's view of tofu-rpc, through pygls's LanguageClient (a real LSP client library),
on loopback only.

usage: lsp_editor.py TOFU_RPC TLS_PEERS_PY

pygls starts tofu-rpc on a fresh store and speaks LSP's base protocol to it (Content-Length
framing): initialize (answered {capabilities: {}, serverInfo}), initialized, then tofu's own
methods as custom requests: listCerts, pinCert, verifyCert against a TLS server of
Tests/Fixtures/tls_peers.py, listCerts again; then shutdown and exit, after which tofu-rpc
exits with status 0. Exits non-zero, saying why, on the first thing that is not so.
"""
import asyncio
import json
import os
import subprocess
import sys
import tempfile

import logging
logging.basicConfig(level=logging.DEBUG if os.environ.get("LSP_DEBUG") else logging.WARNING, stream=sys.stderr)
from lsprotocol import types
from pygls.lsp.client import LanguageClient

TOFU_RPC, TLS_PEERS = sys.argv[1], sys.argv[2]


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def field(value, name):
    """A member of a result pygls hands back for a method it has no type for (an object or a dict)."""
    return value[name] if isinstance(value, dict) else getattr(value, name)


async def main():
    work = tempfile.mkdtemp(prefix="tofu-lsp-")
    cert, key = os.path.join(work, "kong.crt"), os.path.join(work, "kong.key")
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/CN=kong",
                    "-days", "365", "-keyout", key, "-out", cert], check=True, capture_output=True)
    peers = subprocess.Popen([sys.executable, TLS_PEERS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    peers.stdin.write(json.dumps({"op": "listen", "mode": "tls", "host": "127.0.0.1", "cert": cert, "key": key}) + "\n")
    peers.stdin.flush()
    listening = json.loads(peers.stdout.readline())
    check(listening.get("ok"), f"tls_peers: {listening}")
    host = f"127.0.0.1_{listening['ports'][0]}"

    client = LanguageClient("tofu-lsp-test", "1.0")
    await client.start_io(TOFU_RPC, "--store", os.path.join(work, "store.sqlite"))
    try:
        answer = await asyncio.wait_for(client.initialize_async(types.InitializeParams(
            process_id=os.getpid(), root_uri=None, capabilities=types.ClientCapabilities(),
            client_info=types.ClientInfo(name="tofu-lsp-test", version="1.0"))), 30)
        check(answer.server_info is not None and answer.server_info.name == "tofu-rpc", f"serverInfo: {answer.server_info}")
        check(answer.server_info.version, "serverInfo without a version")
        check(answer.capabilities == types.ServerCapabilities(), f"capabilities: {answer.capabilities}")
        client.initialized(types.InitializedParams())

        empty = await asyncio.wait_for(client.protocol.send_request_async("listCerts", {}), 30)
        check(field(empty, "certs") == [] and field(empty, "nextCursor") is None, f"listCerts on a new store: {empty}")
        pinned = await asyncio.wait_for(client.protocol.send_request_async("pinCert", {"host": host, "pem": open(cert).read()}), 30)
        check(field(pinned, "pinStatus") == "pinned", f"pinCert: {pinned}")
        verified = await asyncio.wait_for(client.protocol.send_request_async("verifyCert", {"host": host, "timeoutMs": 5000}), 30)
        check(field(verified, "status") == "match" and field(verified, "host") == host, f"verifyCert: {verified}")
        listed = await asyncio.wait_for(client.protocol.send_request_async("listCerts", {}), 30)
        certs = field(listed, "certs")
        check(len(certs) == 1 and field(certs[0], "host") == host and field(certs[0], "lastVerifiedAt"), f"listCerts after the match: {listed}")

        check(await asyncio.wait_for(client.shutdown_async(None), 30) is None, "shutdown answered something")
        client.exit(None)
        status = await asyncio.wait_for(client._server.wait(), 30)
        check(status == 0, f"tofu-rpc exited with status {status} after shutdown and exit")
    finally:
        if client._server.returncode is None:
            client._server.kill()  # it did not exit: the check above has failed already
        await client.stop()
        peers.stdin.close()
        peers.wait(timeout=20)
    print("lsp_editor: initialized, listCerts and verifyCert answered, shut down with status 0")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as failure:
        print(f"lsp_editor: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
