"""Runs moto in server mode with requests serialised.

moto's own server answers requests on several threads without a lock, so two conditional
writes on one DynamoDB item can both succeed, which DynamoDB never allows. This launcher
wraps moto's WSGI application in one lock: connections are still accepted concurrently
(keep-alive works), but one request at a time touches moto's state.

An SQS long poll (ReceiveMessage with WaitTimeSeconds) would hold that lock for its whole
wait, freezing every other caller: someone watching the tap queue would stall the API. So
the launcher polls on the caller's behalf instead: it asks moto without waiting, under the
lock, and between empty answers sleeps outside it, until a message arrives or the wait is up.
(A queue's own ReceiveMessageWaitTimeSeconds is not applied this way; none of ours sets one.)

moto backs up every table a TransactWriteItems touches by deep-copying the whole table
(items and stream records) before each transaction, so each one costs time and memory in
proportion to everything stored so far: megabytes per call and gigabytes over a test run.
`install_transaction_undo` replaces that backup with an undo log of just the items the
transaction names and the length of each stream, restored if the transaction fails.

Fault switches, for tests that need AWS to fail for real on the wire (not a fake in the SDK):
`POST /_traffic-manager/faults` with `{"events": {"unavailable": true}}` makes every
EventBridge call answer 503 ServiceUnavailable (as an outage does) until switched off;
`{"events": {"rejectDetailContaining": "<text>"}}` makes PutEvents refuse, entry by entry,
the entries whose Detail contains the text (a partial failure, `FailedEntryCount` set), as
EventBridge does for entries it cannot take. `GET` answers the switches in force; `{}`
clears them. Nothing else changes: other services, and EventBridge once switched back, are
moto's.

It binds the port it is given (0 picks a free one) and prints `READY <port>` on stdout once
it is listening, so the caller never races another process for a port.
"""

import argparse
import copy
import io
import json
import os
import signal
import time
import sys
import threading
import urllib.parse
from typing import Any, Callable, Iterable

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import ThreadedWSGIServer, make_server


LONG_POLL_INTERVAL_S = 0.05

Response = tuple[str, list[tuple[str, str]], list[bytes]]


FAULTS_PATH = "/_traffic-manager/faults"


class Faults:
    """The fault switches in force (see the module comment)."""

    def __init__(self) -> None:
        self.events_unavailable = False
        self.reject_detail_containing: str | None = None

    def as_json(self) -> dict[str, Any]:
        events: dict[str, Any] = {"unavailable": self.events_unavailable}
        if self.reject_detail_containing is not None:
            events["rejectDetailContaining"] = self.reject_detail_containing
        return {"events": events}

    def set(self, wanted: dict[str, Any]) -> None:
        events = wanted.get("events") or {}
        self.events_unavailable = bool(events.get("unavailable", False))
        reject = events.get("rejectDetailContaining")
        self.reject_detail_containing = reject if isinstance(reject, str) and reject != "" else None


def _json_response(start_response: Callable[..., Any], status: str, body: Any, content_type: str = "application/json") -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


class SerialisedApp:
    """A WSGI app that lets one request at a time into the wrapped app."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.faults = Faults()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") == FAULTS_PATH:
            return self._fault_switches(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("AWSEvents."):
            if self.faults.events_unavailable:
                return _json_response(
                    start_response,
                    "503 Service Unavailable",
                    {"__type": "ServiceUnavailableException", "message": "EventBridge is unavailable (fault switch)"},
                    "application/x-amz-json-1.1",
                )
            if target == "AWSEvents.PutEvents" and self.faults.reject_detail_containing is not None:
                return self._put_events_rejecting(environ, start_response, self.faults.reject_detail_containing)
        long_poll = _sqs_long_poll(environ)
        if long_poll is None:
            with self._lock:
                # Drain the body inside the lock: a lazy iterable would run moto code after it.
                return list(self._app(environ, start_response))
        body_without_wait, wait_s = long_poll
        deadline = time.monotonic() + wait_s
        while True:
            status, headers, body = self._call_locked(environ, body_without_wait)
            if not status.startswith("200") or _has_messages(body) or time.monotonic() >= deadline:
                start_response(status, headers)
                return body
            time.sleep(LONG_POLL_INTERVAL_S)

    def _fault_switches(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            length = environ.get("CONTENT_LENGTH") or "0"
            try:
                wanted = json.loads(environ["wsgi.input"].read(int(length)) or b"{}")
            except ValueError:
                return _json_response(start_response, "400 Bad Request", {"message": "the body must be JSON"})
            if not isinstance(wanted, dict):
                return _json_response(start_response, "400 Bad Request", {"message": "the body must be a JSON object"})
            self.faults.set(wanted)
        return _json_response(start_response, "200 OK", self.faults.as_json())

    def _put_events_rejecting(self, environ: dict[str, Any], start_response: Callable[..., Any], text: str) -> list[bytes]:
        """PutEvents with the entries whose Detail contains `text` refused in place."""
        length = environ.get("CONTENT_LENGTH") or "0"
        body = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        try:
            request = json.loads(body)
            entries = list(request["Entries"])
        except (ValueError, KeyError, TypeError):
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
            with self._lock:
                return list(self._app(environ, start_response))
        refused = [text in str(entry.get("Detail", "")) for entry in entries]
        kept = [entry for entry, is_refused in zip(entries, refused) if not is_refused]
        accepted: list[dict[str, Any]] = []
        status, headers = "200 OK", [("Content-Type", "application/x-amz-json-1.1")]
        if kept:
            status, headers, chunks = self._call_locked(environ, json.dumps({**request, "Entries": kept}).encode())
            if not status.startswith("200"):
                start_response(status, headers)
                return chunks
            accepted = list(json.loads(b"".join(chunks)).get("Entries", []))
        rejection = {"ErrorCode": "InternalFailure", "ErrorMessage": "refused by the emulator's fault switch"}
        results = [rejection if is_refused else (accepted.pop(0) if accepted else rejection) for is_refused in refused]
        answer = {"FailedEntryCount": sum(1 for result in results if "ErrorCode" in result), "Entries": results}
        data = json.dumps(answer).encode()
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(data)))])
        return [data]

    def _call_locked(self, environ: dict[str, Any], body: bytes) -> Response:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], _exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        attempt = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        with self._lock:
            chunks = list(self._app(attempt, capture))
        return captured["status"], captured["headers"], chunks


def _sqs_long_poll(environ: dict[str, Any]) -> tuple[bytes, float] | None:
    """For an SQS ReceiveMessage that waits: the same request without the wait, and the wait."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    content_type = environ.get("CONTENT_TYPE", "")
    is_json = target == "AmazonSQS.ReceiveMessage"
    is_query = environ.get("REQUEST_METHOD") == "POST" and content_type.startswith("application/x-www-form-urlencoded")
    length = environ.get("CONTENT_LENGTH") or ""
    if not (is_json or is_query) or not length.isdigit():
        return None
    body = environ["wsgi.input"].read(int(length))
    # The body is consumed now: whatever happens next must be given a fresh copy of it.
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
    try:
        if is_json:
            request = json.loads(body)
            wait = float(request.get("WaitTimeSeconds") or 0)
            request["WaitTimeSeconds"] = 0
            rewritten = json.dumps(request).encode()
        else:
            form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True)
            if form.get("Action") != ["ReceiveMessage"]:
                return None
            wait = float(form.get("WaitTimeSeconds", ["0"])[0] or 0)
            form["WaitTimeSeconds"] = ["0"]
            rewritten = urllib.parse.urlencode(form, doseq=True).encode()
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        return None  # Malformed: let moto answer it as it would.
    # SQS allows 0..20 s; anything else goes to moto unchanged, for its own error.
    return (rewritten, wait) if 0 < wait <= 20 else None


def _has_messages(body: list[bytes]) -> bool:
    text = b"".join(body)
    if text.lstrip().startswith(b"{"):
        try:
            answer = json.loads(text)
        except ValueError:
            return True  # Not ours to judge: hand it to the caller as it is.
        return not isinstance(answer, dict) or bool(answer.get("Messages"))
    return b"<Message>" in text


class _CopyKeepingTables:
    """`copy` as moto's DynamoDB backend sees it, except that a Table deep-copies to itself:
    that turns the whole-table backup in `transact_write_items` (and the restore of it) into
    a no-op. Only that module's name `copy` is replaced; its other deep copies are of items."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


ItemKey = tuple[DynamoType, DynamoType | None]


def _key_of(table: Table, op: dict[str, Any], op_type: str) -> ItemKey | None:
    attrs = op.get("Item") if op_type == "Put" else op.get("Key")
    if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
        return None  # moto refuses it before writing anything for it
    range_attr = table.range_key_attr
    if range_attr is not None and range_attr not in attrs:
        return None
    try:
        return DynamoType(attrs[table.hash_key_attr]), None if range_attr is None else DynamoType(attrs[range_attr])
    except Exception:  # noqa: BLE001 - a malformed key value: moto refuses it with its own error
        return None


def _put_back(table: Table, key: ItemKey, item: Any) -> None:
    """Puts an item back as it was before the transaction (None: it did not exist), without
    a stream record: the failed transaction never happened."""
    hash_key, range_key = key
    if range_key is None:
        if item is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = item
        return
    if item is not None:
        table.items[hash_key][range_key] = item
        return
    items_of_hash = table.items.get(hash_key)
    if items_of_hash is not None:
        items_of_hash.pop(range_key, None)
        if not items_of_hash:
            del table.items[hash_key]


def install_transaction_undo() -> None:
    """See the module comment. Safe because requests are serialised: nothing else runs
    between a transaction's writes and their undoing."""
    dynamodb_models.copy = _CopyKeepingTables()  # type: ignore[assignment]
    transact_write_items = DynamoDBBackend.transact_write_items

    def transact_write_items_with_undo(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        undo: list[tuple[Table, ItemKey, Any]] = []
        stream_lengths: dict[int, tuple[Any, int]] = {}
        for entry in transact_items if isinstance(transact_items, list) else []:
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            op_type, op = next(iter(entry.items()))
            try:
                table = self.get_table(op["TableName"])  # by name or ARN, as moto resolves it
            except Exception:  # noqa: BLE001 - moto reports the bad table itself, writing nothing
                continue
            shard = table.stream_shard
            if shard is not None:
                stream_lengths.setdefault(id(shard), (shard, len(shard.items)))
            key = _key_of(table, op, op_type)
            if key is not None:
                hash_key, range_key = key
                before = table.items.get(hash_key) if range_key is None else table.items.get(hash_key, {}).get(range_key)
                # A copy: an Update changes the stored item in place.
                undo.append((table, key, copy.deepcopy(before)))
        try:
            transact_write_items(self, transact_items)
        except BaseException:
            for table, key, item in reversed(undo):
                _put_back(table, key, item)
            for shard, length in stream_lengths.values():
                del shard.items[length:]
            raise

    DynamoDBBackend.transact_write_items = transact_write_items_with_undo  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--moto-transactions",
        action="store_true",
        help="keep moto's whole-table backup per transaction (the benchmark's baseline)",
    )
    args = parser.parse_args()

    if not args.moto_transactions:
        install_transaction_undo()
    app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
    # Room in the listen backlog for a burst of new connections (werkzeug's default is 128):
    # a client's connection attempt should wait in the kernel's queue, not be refused. The
    # kernel caps it at net.core.somaxconn. (The 503s of a 1,000-request burst came from the
    # SDK's socket pool instead: see maxConcurrentInvocations in local/server.ts.)
    ThreadedWSGIServer.request_queue_size = 4096
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
