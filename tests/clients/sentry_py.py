#!/usr/bin/env python3
"""sentry_py.py — Debian's python3-sentry-sdk (the real SDK, unmodified) for t26.

Environment: SENTRY_DSN, REL, ENV_NAME, MARK. With the stock HttpTransport (gzip bodies,
X-Sentry-Auth) and the default logging integration, sends:
  * capture_exception of a ZeroDivisionError raised in compute_ratio (-> /store/),
  * logging.error("payment %s failed code=%d", ...) (the logging integration: a logentry
    with params and no `formatted`, -> /store/),
  * capture_message with an attachment on the scope (-> /envelope/ with an attachment item),
  * a release-health session (start/end, -> /envelope/),
then flushes (client reports go out on flush too) and prints JSON {"statuses": [[path, status],
...]} of every HTTP request the SDK's transport made. Exit 1 if any was not 2xx or none was made.
"""
import json
import logging
import os
import sys

import sentry_sdk

dsn, rel, env, mark = (os.environ[k] for k in ("SENTRY_DSN", "REL", "ENV_NAME", "MARK"))
sentry_sdk.init(dsn=dsn, release=rel, environment=env, traces_sample_rate=0,
                send_client_reports=True, debug=os.environ.get("SENTRY_DEBUG") == "1")
statuses = []
transport = sentry_sdk.Hub.current.client.transport
original_request = transport._pool.request


def recording_request(method, url, *args, **kwargs):
    """The SDK's own urllib3 request, observed."""
    response = original_request(method, url, *args, **kwargs)
    statuses.append([url.split("/api/", 1)[-1], response.status])
    return response


transport._pool.request = recording_request


def compute_ratio(a, b):
    return a / b


try:
    compute_ratio(1, 0)
except ZeroDivisionError:
    sentry_sdk.capture_exception()

logging.getLogger("shop.payments").error("payment %s failed code=%d (" + mark + ")", "p-77", 402)

with sentry_sdk.push_scope() as scope:
    scope.add_attachment(bytes=("state of " + mark).encode(), filename="state.txt",
                         content_type="text/plain")
    sentry_sdk.capture_message("with attachment " + mark, level="warning")

hub = sentry_sdk.Hub.current
hub.start_session(session_mode="application")
hub.end_session()
sentry_sdk.flush(timeout=10)
hub.client.close(timeout=10)
print(json.dumps({"statuses": statuses}))
if not statuses or any(s < 200 or s >= 300 for _, s in statuses):
    sys.exit(1)
