#!/usr/bin/env python3
"""wsclient.py HOST PORT PATH N — a minimal RFC 6455 client (stdlib only) for the tests: does
the handshake, checks Sec-WebSocket-Accept, answers pings, prints the first N text frames (one
per line) and closes cleanly. Exit 1 on any protocol error."""
import base64, hashlib, os, socket, struct, sys

host, port, path, want = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection((host, port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        sys.exit("handshake: connection closed")
    buf += chunk
head, buf = buf.split(b"\r\n\r\n", 1)
lines = head.decode().split("\r\n")
if " 101 " not in lines[0]:
    sys.exit("handshake: " + lines[0])
accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
if hdrs.get("sec-websocket-accept") != accept:
    sys.exit("bad Sec-WebSocket-Accept")

def need(n):
    global buf
    while len(buf) < n:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("connection closed")
        buf += chunk
    out, buf = buf[:n], buf[n:]
    return out

def send(op, payload):
    mask = os.urandom(4)
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    s.sendall(bytes([0x80 | op, 0x80 | len(payload)]) + mask + data)

got = 0
while got < want:
    b0, b1 = need(2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", need(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", need(8))[0]
    payload = need(n)
    op = b0 & 0x0f
    if op == 0x1:
        print(payload.decode(), flush=True)
        got += 1
    elif op == 0x9:
        send(0xA, payload)
    elif op == 0x8:
        sys.exit("server closed")
send(0x8, struct.pack("!H", 1000))
