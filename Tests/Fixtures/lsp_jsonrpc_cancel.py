#!/usr/bin/env python3
"""Cancelling a tofu-rpc call from python-lsp-jsonrpc 1.1.2 (pylsp_jsonrpc), two ways.

    lsp_jsonrpc_cancel.py TOFU_RPC STORE HOST

HOST is a host key on loopback that accepts TCP and never answers TLS, so a verifyCert of it
stays in flight until it is cancelled. Each way runs against a tofu-rpc of its own, over the
library's own Content-Length streams:

  notification: the client sends the notification $/cancelRequest {id} itself
                (endpoint.notify). The request's future then fails with code -32800, and the
                endpoint goes on working (a listCerts after it is answered).
  futureCancel: the client cancels the request's future (future.cancel()). The library sends
                $/cancelRequest too, but when tofu-rpc's -32800 answer arrives it calls
                set_exception on the cancelled future: InvalidStateError, raised in the
                library's reader thread, which ends. The endpoint is dead: nothing after it is
                answered. (A bug of python-lsp-jsonrpc 1.1.2, not of tofu-rpc.)

Prints one JSON object with what each way saw. Exits 3 when pylsp_jsonrpc is missing or not
version 1.1.2 (`make test` installs it: pip install python-lsp-jsonrpc==1.1.2).
"""
import itertools, json, subprocess, sys, threading, time
from concurrent import futures
from importlib import metadata

try:
    from pylsp_jsonrpc.endpoint import Endpoint
    from pylsp_jsonrpc.exceptions import JsonRpcException
    from pylsp_jsonrpc.streams import JsonRpcStreamReader, JsonRpcStreamWriter
except ImportError:
    print("python-lsp-jsonrpc is missing: pip install python-lsp-jsonrpc==1.1.2 (make test does)", file=sys.stderr)
    sys.exit(3)

VERSION = metadata.version("python-lsp-jsonrpc")
if VERSION != "1.1.2":
    print(f"python-lsp-jsonrpc {VERSION} is installed; this test pins 1.1.2: pip install python-lsp-jsonrpc==1.1.2", file=sys.stderr)
    sys.exit(3)

tofu_rpc, store, host = sys.argv[1:4]


class Client:
    """A tofu-rpc child and a pylsp_jsonrpc endpoint over its stdin/stdout."""

    def __init__(self):
        self.process = subprocess.Popen([tofu_rpc, "--store", store], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.ids = itertools.count(1)
        self.last_id = None
        self.endpoint = Endpoint({}, JsonRpcStreamWriter(self.process.stdin).write, id_generator=self.next_id)
        self.reader = threading.Thread(target=JsonRpcStreamReader(self.process.stdout).listen, args=(self.endpoint.consume,), daemon=True)
        self.reader.start()

    def next_id(self):
        self.last_id = next(self.ids)
        return self.last_id

    def verify_in_flight(self):
        """A verifyCert of the silent host, and its id, once tofu-rpc is working on it."""
        future = self.endpoint.request("verifyCert", {"host": host, "timeoutMs": 60000})
        request_id = self.last_id
        time.sleep(0.3)
        assert not future.done(), "the verifyCert of a silent host ended before it was cancelled"
        return future, request_id

    def answered(self, seconds):
        """Whether a listCerts sent now is answered within `seconds`."""
        try:
            self.endpoint.request("listCerts").result(timeout=seconds)
            return True
        except futures.TimeoutError:
            return False

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=30)


report = {"version": VERSION}

# The way that works: the notification, sent by the client.
client = Client()
future, request_id = client.verify_in_flight()
client.endpoint.notify("$/cancelRequest", {"id": request_id})
error = future.exception(timeout=10)
report["notification"] = {
    "code": error.code if isinstance(error, JsonRpcException) else repr(error),
    "answeredAfter": client.answered(10),
    "readerAlive": client.reader.is_alive(),
}
client.close()

# The way that does not: cancelling the future.
client = Client()
future, request_id = client.verify_in_flight()
future.cancel()
# tofu-rpc answers -32800 at once; the reader thread meets it and ends.
client.reader.join(timeout=10)
report["futureCancel"] = {
    "readerAlive": client.reader.is_alive(),
    "answeredAfter": client.answered(3),
}
client.close()

print(json.dumps(report))
