"""A stand-in for the platform's API behind the gateway (docs/gateway.md): standard library only.

Every path answers 200 with JSON saying what reached it: the method, the URI, the Accessgov-*
headers the gateway set (who is calling), whether an Authorization header got through (it must
not: the gateway removes it) and the body's size. Two paths of its own let a test or an operator
see what passed: `GET /__hits` answers how many requests reached it, `POST /__reset` sets that back
to zero. Ask them of the upstream directly, not through the gateway (which would ask accessgov
about them and refuse).

    python examples/gateway/upstream.py 127.0.0.1 9000         # threaded wsgiref server
    gunicorn --chdir examples/gateway upstream:application -w 1 --threads 8 -b 127.0.0.1:9000

Keep it behind the gateway on loopback or a private network: it believes every header it gets.
"""

import json
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

HITS_PATH = "/__hits"
RESET_PATH = "/__reset"

_lock = threading.Lock()
_hits = 0


def _answer(start_response, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body, sort_keys=True).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [data]


def _headers(environ: dict) -> dict[str, str]:
    """Return the request's headers as sent (Title-Case names), from the WSGI environ."""
    found = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            found[key[5:].replace("_", "-").title()] = value
    return found


def _body_size(environ: dict) -> int:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return len(environ["wsgi.input"].read(length)) if length > 0 else 0


def application(environ: dict, start_response) -> list[bytes]:
    """Answer every request with what reached this upstream; count it unless it is /__*."""
    global _hits
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    if path == HITS_PATH and method == "GET":
        with _lock:
            return _answer(start_response, "200 OK", {"Hits": _hits})
    if path == RESET_PATH and method == "POST":
        with _lock:
            _hits = 0
        return _answer(start_response, "200 OK", {"Hits": 0})
    with _lock:
        _hits += 1
        hit = _hits
    headers = _headers(environ)
    query = environ.get("QUERY_STRING", "")
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path + (f"?{query}" if query else "")
    return _answer(
        start_response,
        "200 OK",
        {
            "Upstream": "sample platform API",
            "Hit": hit,
            "Method": method,
            "Uri": raw_uri,
            "Identity": {name: value for name, value in headers.items() if name.startswith("Accessgov-")},
            "AuthorizationReceived": "Authorization" in headers,
            "BodyBytes": _body_size(environ),
            "Headers": sorted(headers),
        },
    )


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


def main(argv: list[str]) -> None:
    host = argv[1] if len(argv) > 1 else "127.0.0.1"
    port = int(argv[2]) if len(argv) > 2 else 9000
    with make_server(
        host, port, application, server_class=_ThreadingServer, handler_class=_QuietHandler
    ) as server:
        print(f"sample platform API on http://{host}:{port}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
