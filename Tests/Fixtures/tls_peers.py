#!/usr/bin/env python3
"""TLS peers for tofu's tests and demo, on loopback only: well-behaved TLS servers, a fake
Cisco DNA Center, and hostile peers. Controlled by JSON lines on stdin, one answer per line
on stdout; it exits when stdin closes.

Commands (each answers {"ok": true, ...} or {"ok": false, "error": "..."}):
  {"op": "listen", "mode": MODE, "host": "127.0.0.1"|"::1", "cert": PEM_PATH, "key": KEY_PATH,
   "count": N, "dnac": {...}}                      -> {"ids": [...], "ports": [...]}
      MODE: tls (TLS, then the fake DNA Center over HTTP/1.1), silent (accepts, never speaks),
            close (accepts, closes at once), http (answers plain HTTP), drip (one byte a second),
            reset (resets mid-handshake), alert (refuses the handshake with a TLS alert)
  {"op": "set_cert", "id": ID, "cert": ..., "key": ...}   regenerate: same port, new certificate
  {"op": "alternate", "id": ID, "certs": [[CERT, KEY], ...]}  each new connection gets the next one
  {"op": "dnac", "id": ID, ...}                           change the fake DNA Center's behaviour
  {"op": "requests", "id": ID}                            -> {"requests": [{method, path, headers, body}]}
  {"op": "connections", "id": ID}                         -> {"connections": N} (TCP accepts so far)

The fake DNA Center ("dnac" options): behaviour = token (default) | unauthorized | forbidden |
old (404 on the 1.2.6+ path, token on /api/system/v1/auth/token) | error (500) | nonjson |
chunked | endless (headers, then a body that never ends); username, password (checked with
HTTP Basic auth; default admin / secret).
"""
import asyncio, base64, json, logging, socket, ssl, struct, sys

# asyncio warns on every TLS connection a peer closes first; the hostile peers do that on purpose.
logging.getLogger("asyncio").setLevel(logging.ERROR)

listeners = {}
next_id = 1


class Listener:
    def __init__(self, mode, cert, key, dnac):
        self.mode = mode
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
        elif mode == "tls":
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
            listener.context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            pass
        finally:
            sock.close()


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
        await answer(listener, method, path, headers, writer)


def respond(writer, status, body, content_type="application/json", extra=""):
    data = body.encode()
    writer.write((f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n{extra}\r\n").encode() + data)


async def answer(listener, method, path, headers, writer):
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
    elif method != "POST" or path not in (new_path, old_path) or (behaviour == "old" and path == new_path):
        respond(writer, "404 Not Found", '{"error":"not found"}')
    elif headers.get("authorization") != expected:
        respond(writer, "401 Unauthorized", '{"error":"Authentication has failed. Please check your credentials."}')
    elif behaviour == "chunked":
        data = token.encode()
        half = len(data) // 2
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (half, data[:half], len(data) - half, data[half:]))
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


async def listen(command):
    global next_id
    host = command.get("host", "127.0.0.1")
    ids, ports = [], []
    for _ in range(int(command.get("count", 1))):
        listener = Listener(command["mode"], command.get("cert"), command.get("key"), command.get("dnac"))
        if listener.mode == "alert":
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
