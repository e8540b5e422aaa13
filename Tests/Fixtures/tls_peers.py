#!/usr/bin/env python3
"""TLS peers for tofu's tests and demo, on loopback only: well-behaved TLS servers, a fake
Cisco DNA Center, and hostile peers. Controlled by JSON lines on stdin, one answer per line
on stdout; it exits when stdin closes.

Commands (each answers {"ok": true, ...} or {"ok": false, "error": "..."}):
  {"op": "listen", "mode": MODE, "host": "127.0.0.1"|"::1", "cert": PEM_PATH, "key": KEY_PATH,
   "count": N, "dnac": {...}}                      -> {"ids": [...], "ports": [...]}
      MODE: tls (TLS, then the fake DNA Center over HTTP/1.1), silent (accepts, never speaks),
            close (accepts, closes at once), http (answers plain HTTP), drip (one byte a second),
            reset (resets mid-handshake), alert (refuses the handshake with a TLS alert),
            clientcert (asks for a client certificate; with "tls": "1.2"|"1.3" the only version
            offered, and "require": true (default) refuses a client without one, as mutual TLS
            does; "require": false only asks, then serves the fake DNA Center like tls;
            "refuseDelay": S makes a refusing peer take S seconds over its verdict, after its
            handshake is complete on the client's side; "tickets": false sends no TLS 1.3
            session tickets)
      Any TLS mode: "handshakeDelay": S waits S seconds after accepting before the handshake.
  {"op": "set_cert", "id": ID, "cert": ..., "key": ...}   regenerate: same port, new certificate
  {"op": "alternate", "id": ID, "certs": [[CERT, KEY], ...]}  each new connection gets the next one
  {"op": "dnac", "id": ID, ...}                           change the fake DNA Center's behaviour
  {"op": "requests", "id": ID}                            -> {"requests": [{method, path, headers, body}]}
  {"op": "connections", "id": ID}                         -> {"connections": N} (TCP accepts so far)

The fake DNA Center ("dnac" options): behaviour = token (default) | unauthorized | forbidden |
old (404 on the 1.2.6+ path, token on /api/system/v1/auth/token) | error (500) | nonjson |
chunked | endless (headers, then a body that never ends); username, password (checked with
HTTP Basic auth; default admin / secret).
With old, after404 says how the 404 ends the connection: keepalive (default: it does not) |
http10 (an HTTP/1.0 404, then a close) | closelist ("Connection: close, TE", then a close) |
silent (an HTTP/1.1 404 that says nothing, then a close); the close comes closeDelay seconds
(default 0.3) after the 404, without reading what the client sent meanwhile. surplus: a 404
followed at once by a forged answer to the next request (response splitting), connection kept.
Real answers that hand-written clients trip over: continue (100 Continue, then the token) |
early (103 Early Hints, then the token) | nocontent (204) | barelf (headers ending in bare LF).
Hostile answers: chunkoverflow (a chunk of 7FFFFFFFFFFFFFFF bytes) | hugelength
(Content-Length: 99999999999999999999) | manyheaders (10,000 header fields) | longheader (a
header line of 1 MiB) | endless1xx (100 Continue, again and again) | raw (the bytes of the
"raw" option, base64, then a close).
"""
import asyncio, base64, json, logging, socket, ssl, struct, sys, time

# asyncio warns on every TLS connection a peer closes first; the hostile peers do that on purpose.
logging.getLogger("asyncio").setLevel(logging.ERROR)

listeners = {}
next_id = 1


class Listener:
    def __init__(self, mode, cert, key, dnac, tls="1.3", require=True, refuse_delay=0.0, tickets=True, handshake_delay=0.0):
        self.mode = mode
        self.handshake_delay = handshake_delay
        self.tls = tls
        self.require = require
        self.refuse_delay = refuse_delay
        self.tickets = tickets
        self.requests = []
        self.connections = 0
        self.dnac = {"behaviour": "token", "username": "admin", "password": "secret"}
        self.dnac.update(dnac or {})
        self.context = None
        self.rotation = []
        if cert:
            self.set_cert(cert, key)

    def next_context(self):
        if self.rotation:
            self.rotation.append(self.rotation.pop(0))
            return self.rotation[-1]
        return self.context

    def make_context(self, cert, key):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    def set_cert(self, cert, key):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        if self.mode == "clientcert":
            version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[self.tls]
            context.minimum_version = context.maximum_version = version
            context.verify_mode = ssl.CERT_REQUIRED if self.require else ssl.CERT_OPTIONAL
            context.load_verify_locations(cert)
            if not self.tickets:
                context.num_tickets = 0
        if self.mode == "alert":
            # Demands a client certificate over TLS 1.2, where refusing one is a fatal
            # handshake_failure alert sent before the client's handshake completes.
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cert)
        self.context = context


async def serve(listener, reader, writer):
    listener.connections += 1
    mode = listener.mode
    try:
        if mode == "silent":
            await reader.read()
        elif mode == "close":
            pass
        elif mode == "http":
            await reader.read(1024)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request")
            await writer.drain()
        elif mode == "drip":
            await reader.read(1024)
            for byte in b"\x16\x03\x03\x00\x7a" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(1)
        elif mode == "reset":
            await reader.read(1024)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif mode in ("tls", "clientcert"):
            if listener.handshake_delay:
                await asyncio.sleep(listener.handshake_delay)
            await writer.start_tls(listener.next_context())
            await serve_http(listener, reader, writer)
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def refuse_handshakes(listener, server_socket):
    """The alert mode, on blocking sockets in a thread: asyncio drops a pending alert when a
    handshake fails, a blocking socket sends it."""
    while True:
        try:
            sock, _ = server_socket.accept()
        except OSError:
            return
        listener.connections += 1
        sock.settimeout(5)
        try:
            if listener.refuse_delay:
                refuse_slowly(listener, sock)
            else:
                listener.context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            pass
        finally:
            sock.close()


def refuse_slowly(listener, sock):
    """A refusal that comes refuse_delay seconds after the server's Finished: the handshake
    runs over memory BIOs, and the client's answer to the server's flight (its empty Certificate
    and Finished) waits that long before the server reads it and sends its alert."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = listener.context.wrap_bio(incoming, outgoing, server_side=True)
    flights = 0
    while True:
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            pending = outgoing.read()
            if pending:
                sock.sendall(pending)
                flights += 1
            data = sock.recv(65536)
            if not data:
                return
            if flights:
                time.sleep(listener.refuse_delay)
            incoming.write(data)
        except ssl.SSLError:
            sock.sendall(outgoing.read())
            return


async def serve_http(listener, reader, writer):
    while True:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = await reader.read(1)
            if not chunk:
                return
            head += chunk
            if len(head) > 65536:
                return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        listener.requests.append({"method": method, "path": path, "headers": headers, "body": body.decode("latin-1")})
        if await answer(listener, method, path, headers, writer):
            return


def respond(writer, status, body, content_type="application/json", extra="", version="HTTP/1.1"):
    data = body.encode()
    writer.write((f"{version} {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n{extra}\r\n").encode() + data)


async def answer(listener, method, path, headers, writer):
    """Answers one request; True when the connection is to be closed after it."""
    dnac = listener.dnac
    # "hold" (dnac option): the token request is recorded at once but answered only once a
    # later {"op": "dnac", "hold": false} lifts the hold, so a test can act in between (delete
    # the pin, cancel the call) whatever the machine's load.
    while dnac.get("hold"):
        await asyncio.sleep(0.01)
    behaviour = dnac["behaviour"]
    expected = "Basic " + base64.b64encode(f'{dnac["username"]}:{dnac["password"]}'.encode()).decode()
    new_path, old_path = "/dna/system/api/v1/auth/token", "/api/system/v1/auth/token"
    token = json.dumps({"Token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-token"})
    if behaviour == "error":
        respond(writer, "500 Internal Server Error", '{"error":"internal"}')
    elif behaviour == "nonjson":
        respond(writer, "200 OK", "<html><body>Welcome</body></html>", "text/html")
    elif behaviour == "unauthorized":
        respond(writer, "401 Unauthorized", '{"error":"Authentication has failed"}')
    elif behaviour == "forbidden":
        respond(writer, "403 Forbidden", '{"error":"Forbidden"}')
    elif behaviour == "raw":
        writer.write(base64.b64decode(dnac.get("raw", "")))
        await writer.drain()
        return True
    elif behaviour == "old" and path == new_path and dnac.get("after404", "keepalive") != "keepalive":
        after = dnac["after404"]
        if after == "http10":
            respond(writer, "404 Not Found", '{"error":"not found"}', version="HTTP/1.0")
        elif after == "closelist":
            respond(writer, "404 Not Found", '{"error":"not found"}', extra="Connection: close, TE\r\n")
        elif after == "surplus":
            # A 404 and, in the same write, an "answer" to the next request: response splitting.
            writer.write(b'HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}'
                         b'HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n{"Token":"forged"}')
            await writer.drain()
            return False
        else:
            respond(writer, "404 Not Found", '{"error":"not found"}')
        await writer.drain()
        await asyncio.sleep(float(dnac.get("closeDelay", 0.3)))
        return True
    elif method != "POST" or path not in (new_path, old_path) or (behaviour == "old" and path == new_path):
        respond(writer, "404 Not Found", '{"error":"not found"}')
    elif headers.get("authorization") != expected:
        respond(writer, "401 Unauthorized", '{"error":"Authentication has failed. Please check your credentials."}')
    elif behaviour == "chunked":
        data = token.encode()
        half = len(data) // 2
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, data[:half], len(data) - half, data[half:]))
    elif behaviour == "continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)
        respond(writer, "200 OK", token)
    elif behaviour == "early":
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </static/app.css>; rel=preload; as=style\r\n\r\n")
        await writer.drain()
        respond(writer, "200 OK", token)
    elif behaviour == "nocontent":
        writer.write(b"HTTP/1.1 204 No Content\r\nServer: fake\r\n\r\n")
    elif behaviour == "barelf":
        data = token.encode()
        writer.write(b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: %d\n\n%s" % (len(data), data))
    elif behaviour == "chunkoverflow":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\n{\"a\":\r\n7FFFFFFFFFFFFFFF\r\n" + b"x" * 1024)
        await writer.drain()
        await asyncio.sleep(30)
    elif behaviour == "hugelength":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n"
                     + token.encode())
        await writer.drain()
        await asyncio.sleep(30)
    elif behaviour == "manyheaders":
        fields = b"".join(b"X-Field-%d: value\r\n" % index for index in range(10000))
        writer.write(b"HTTP/1.1 200 OK\r\n" + fields + b"Content-Length: %d\r\n\r\n%s" % (len(token), token.encode()))
    elif behaviour == "longheader":
        writer.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (1 << 20) + b"\r\nContent-Length: %d\r\n\r\n%s" % (len(token), token.encode()))
    elif behaviour == "endless1xx":
        for _ in range(100000):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.01)
    elif behaviour == "endless":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{")
        await writer.drain()
        while True:
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(0.5)
    else:
        respond(writer, "200 OK", token)
    await writer.drain()
    return False


async def listen(command):
    global next_id
    host = command.get("host", "127.0.0.1")
    ids, ports = [], []
    for _ in range(int(command.get("count", 1))):
        listener = Listener(command["mode"], command.get("cert"), command.get("key"), command.get("dnac"),
                            str(command.get("tls", "1.3")), bool(command.get("require", True)),
                            float(command.get("refuseDelay", 0)), bool(command.get("tickets", True)),
                            float(command.get("handshakeDelay", 0)))
        if listener.mode == "alert" or (listener.mode == "clientcert" and listener.require):
            import threading
            server_socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            server_socket.bind((host, int(command.get("port", 0))))
            server_socket.listen(64)
            threading.Thread(target=refuse_handshakes, args=(listener, server_socket), daemon=True).start()
            port = server_socket.getsockname()[1]
        else:
            server = await asyncio.start_server(lambda r, w, l=listener: serve(l, r, w), host, int(command.get("port", 0)),
                                                backlog=1024, reuse_address=True)
            port = server.sockets[0].getsockname()[1]
        listeners[next_id] = listener
        ids.append(next_id)
        ports.append(port)
        next_id += 1
    return {"ids": ids, "ports": ports}


async def handle(command):
    op = command.get("op")
    if op == "listen":
        return await listen(command)
    listener = listeners[command["id"]]
    if op == "set_cert":
        listener.set_cert(command["cert"], command["key"])
        return {}
    if op == "alternate":
        listener.rotation = [listener.make_context(cert, key) for cert, key in command["certs"]]
        return {}
    if op == "dnac":
        listener.dnac.update({k: v for k, v in command.items() if k not in ("op", "id")})
        return {}
    if op == "requests":
        return {"requests": listener.requests}
    if op == "connections":
        return {"connections": listener.connections}
    raise ValueError(f"unknown op {op}")


async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        try:
            result = await handle(json.loads(line))
            answer = {"ok": True, **result}
        except Exception as error:
            answer = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
