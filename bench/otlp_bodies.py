#!/usr/bin/env python3
"""otlp_bodies.py — the request bodies of `make bench-ingest`'s OTLP runs (bench/ingest.sh).

    python3 bench/otlp_bodies.py OUTDIR BATCH

Writes OUTDIR/otlp.json (OTLP/JSON) and OUTDIR/otlp.pb (OTLP protobuf, encoded here by hand
from the field numbers in proto/otlp_logs.proto) — the same ExportLogsServiceRequest of BATCH
log records in both encodings: service.name "bench-otlp", an ERROR record of about 1 KB
each (body, exception.type/.message/.stacktrace, a few typed attributes, trace/span ids), so
the two runs measure the decoders on identical content. The records carry no event ids (OTLP
has none); the collector assigns them, and the bench counts stored rows by system.
"""
import json
import os
import struct
import sys


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def vint(field, n):
    return varint(field << 3) + varint(n)


def pstr(field, text):
    return ld(field, text.encode())


STACK = ("GatewayError: upstream gateway returned 502 Bad Gateway\n"
         "    at gatewayAuthorize (/srv/checkout/src/gateway.js:157:11)\n"
         "    at handleCheckout (/srv/checkout/src/checkout.js:412:5)\n"
         "    at main (/srv/checkout/src/main.js:88:3)")
ATTRS = [
    ("exception.type", "s", "GatewayError"),
    ("exception.message", "s", "upstream gateway returned 502 Bad Gateway"),
    ("exception.stacktrace", "s", STACK),
    ("order.id", "s", "ORD-20261124-000123"),
    ("amount_cents", "i", 12999),
    ("currency", "s", "EUR"),
    ("attempt", "i", 2),
    ("ratio", "d", 0.25),
    ("retry", "b", True),
    ("note", "s", "x" * 225),
]
RESOURCE = [("service.name", "bench-otlp"), ("service.version", "checkout@3.14.2"),
            ("deployment.environment.name", "production")]
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
SPAN = bytes.fromhex("b7ad6b7169203331")
T0 = 1795561501500000000


def pb_any(kind, v):
    if kind == "s":
        return pstr(1, v)
    if kind == "b":
        return vint(2, 1 if v else 0)
    if kind == "i":
        return vint(3, v)
    return b"\x21" + struct.pack("<d", v)


def json_any(kind, v):
    return {"s": {"stringValue": v}, "b": {"boolValue": v}, "i": {"intValue": str(v)},
            "d": {"doubleValue": v}}[kind]


def main():
    outdir, batch = sys.argv[1], int(sys.argv[2])
    recs_pb, recs_json = b"", []
    for i in range(batch):
        body = "card authorization failed for order %d: upstream gateway returned 502" % i
        t = T0 + i * 1000
        rec = (b"\x09" + struct.pack("<Q", t) + vint(2, 17) + pstr(3, "ERROR") +
               ld(5, pstr(1, body)))
        for k, kind, v in ATTRS:
            rec += ld(6, pstr(1, k) + ld(2, pb_any(kind, v)))
        rec += ld(9, TRACE) + ld(10, SPAN)
        recs_pb += ld(2, rec)
        recs_json.append({
            "timeUnixNano": str(t), "severityNumber": 17, "severityText": "ERROR",
            "body": {"stringValue": body},
            "attributes": [{"key": k, "value": json_any(kind, v)} for k, kind, v in ATTRS],
            "traceId": TRACE.hex(), "spanId": SPAN.hex()})
    res_pb = b"".join(ld(1, pstr(1, k) + ld(2, pstr(1, v))) for k, v in RESOURCE)
    scope_pb = pstr(1, "payments")
    req_pb = ld(1, ld(1, res_pb) + ld(2, ld(1, scope_pb) + recs_pb))
    req_json = {"resourceLogs": [{
        "resource": {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in RESOURCE]},
        "scopeLogs": [{"scope": {"name": "payments"}, "logRecords": recs_json}]}]}
    with open(os.path.join(outdir, "otlp.pb"), "wb") as f:
        f.write(req_pb)
    with open(os.path.join(outdir, "otlp.json"), "w") as f:
        json.dump(req_json, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
