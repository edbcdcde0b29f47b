"""Runs moto in server mode with requests serialised.

moto's own server answers requests on several threads without a lock, so two conditional
writes on one DynamoDB item can both succeed, which DynamoDB never allows. This launcher
wraps moto's WSGI application in one lock: connections are still accepted concurrently
(keep-alive works), but one request at a time touches moto's state.

It binds the port it is given (0 picks a free one) and prints `READY <port>` on stdout once
it is listening, so the caller never races another process for a port.
"""

import argparse
import os
import signal
import time
import sys
import threading
from typing import Any, Callable, Iterable

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class SerialisedApp:
    """A WSGI app that lets one request at a time into the wrapped app."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            # Drain the body inside the lock: a lazy iterable would run moto code after it.
            return list(self._app(environ, start_response))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True)

    def stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    def exit_with_parent() -> None:
        # If whoever started us dies without stopping us, don't linger as an orphan.
        parent = os.getppid()
        while os.getppid() == parent:
            time.sleep(0.5)
        server.shutdown()

    threading.Thread(target=exit_with_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
