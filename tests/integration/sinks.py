#!/usr/bin/env python3
"""sinks.py — a local HTTP receiver and SMTP sink for the alert test (t93), stdlib only.

    sinks.py DIR    writes DIR/ports ("HTTP_PORT SMTP_PORT") once both listen; every HTTP
                    POST body is appended as one line to DIR/http-<path>.log (path without
                    slashes); /flaky answers 500 twice, then 200. Every SMTP message is
                    appended to DIR/mail.log followed by a line "----". Runs until killed.
"""
import http.server, os, socketserver, sys, threading

out = sys.argv[1]
flaky = {"n": 0}
lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        name = self.path.strip("/").replace("/", "_") or "root"
        status = 200
        with lock:
            if name == "flaky":
                flaky["n"] += 1
                status = 500 if flaky["n"] <= 2 else 200
            with open(os.path.join(out, "http-%s.log" % name), "ab") as f:
                f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


class Smtp(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink ready")
        data = None
        while True:
            line = self.rfile.readline()
            if not line:
                return
            if data is not None:
                if line in (b".\r\n", b".\n"):
                    with lock, open(os.path.join(out, "mail.log"), "ab") as f:
                        f.write(b"".join(data) + b"----\n")
                    data = None
                    self.reply("250 queued")
                else:
                    data.append(line)
                continue
            cmd = line[:4].upper()
            if cmd == b"EHLO" or cmd == b"HELO":
                self.reply("250 sink")
            elif cmd == b"DATA":
                data = []
                self.reply("354 go on")
            elif cmd == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class TServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


h = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
s = TServer(("127.0.0.1", 0), Smtp)
threading.Thread(target=s.serve_forever, daemon=True).start()
with open(os.path.join(out, "ports.tmp"), "w") as f:
    f.write("%d %d\n" % (h.server_address[1], s.server_address[1]))
os.rename(os.path.join(out, "ports.tmp"), os.path.join(out, "ports"))
h.serve_forever()
