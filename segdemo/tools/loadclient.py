"""A lean simulated student for the load test: Gradio's browser protocol over one HTTP connection.

The load test runs thirty students on the server's own two cores. ``gradio_client`` spends ~0.1 s of CPU
per request on its side (a job thread, a stream reader, API-info parsing, file handling): in a 30 × 4
burst that was 40 % of the machine, taken from the server it measured; a classroom's browsers run on
their own machines. :class:`LeanClient` speaks what the page speaks (``POST /gradio_api/queue/join``, then
the session's ``GET /gradio_api/queue/data`` event stream) with one ``httpx`` connection and no extra
threads, so the numbers are the server's. ``tests/test_loadtest.py`` checks it against a launched app.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx


class RemoteError(RuntimeError):
    """The app answered an event with an error (its message, as the page would show it)."""


class LeanClient:
    """One student: a session hash, the app's endpoint table, and blocking calls by API name.

    Args:
        url: the app's address, e.g. ``http://127.0.0.1:7860/``.
        api: ``{api name: (fn index, [default of each input])}`` shared by the class (see :func:`api_table`);
            fetched here when not given.
    """

    def __init__(self, url: str, api: dict[str, tuple[int, list[Any]]] | None = None, timeout: float = 300.0):
        self.root = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)
        self.api = api if api is not None else api_table(url, self.http)
        self.session = uuid.uuid4().hex[:11]
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._cond = threading.Condition()
        self._reading = False
        self._closed = False

    # ---- calls ----
    def submit(self, api_name: str, *args: Any) -> str:
        """Queue one event (inputs after ``args`` take their defaults); returns its event id."""
        index, defaults = self.api[api_name.lstrip("/")]
        data = list(args) + defaults[len(args):]
        response = self._post(f"{self.root}/gradio_api/queue/join", json={
            "data": data, "fn_index": index, "session_hash": self.session, "event_data": None, "trigger_id": None})
        response.raise_for_status()
        event = response.json()["event_id"]
        with self._cond:
            self._messages.setdefault(event, [])
        return event

    def wait(self, event: str, first: bool = False) -> list[Any] | None:
        """Block until ``event`` completes (or, with ``first``, until its first update); returns its output
        data. Raises :class:`RemoteError` with the app's message if it failed."""
        with self._cond:
            while True:
                messages = self._messages[event]
                done = [m for m in messages if m.get("msg") == "process_completed"]
                if done or (first and messages):
                    message = (done or messages)[-1]
                    if done:
                        del self._messages[event]
                    output = message.get("output") or {}
                    if message.get("success") is False or "error" in output and output.get("error"):
                        raise RemoteError(str(output.get("error") or output)[:300])
                    return output.get("data")
                if not self._reading:  # the session's stream closes when it has nothing pending
                    self._reading = True
                    threading.Thread(target=self._read, daemon=True).start()
                self._cond.wait(timeout=1.0)

    def predict(self, *args: Any, api_name: str) -> list[Any] | None:
        """``submit`` then ``wait``: what a click does."""
        return self.wait(self.submit(api_name, *args))

    def file(self, path: str | Path) -> dict[str, Any]:
        """Upload ``path`` as the page does and return the value a file input sends."""
        path = Path(path)
        response = self._post(f"{self.root}/gradio_api/upload", files=lambda: {"files": (path.name, path.read_bytes())})
        response.raise_for_status()
        return {"path": response.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def _post(self, url: str, *, json: Any = None, files: Any = None) -> httpx.Response:
        # Sent again once if the connection was reset before any answer, as a browser does: uvicorn closes a
        # kept-alive connection after 5 idle seconds, and a student who thought for exactly that long may send
        # on it as it closes (the server never read that request).
        for attempt in (0, 1):
            try:
                return self.http.post(url, json=json, files=files() if files else None)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                if attempt:
                    raise
        raise AssertionError("unreachable")

    # ---- the session's event stream ----
    def _read(self) -> None:
        try:
            with self.http.stream("GET", f"{self.root}/gradio_api/queue/data",
                                  params={"session_hash": self.session}) as stream:
                for line in stream.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    message = json.loads(line[5:])
                    if message.get("msg") == "close_stream":
                        break
                    event = message.get("event_id")
                    if message.get("msg") in ("process_generating", "process_completed") and event:
                        with self._cond:
                            self._messages.setdefault(event, []).append(message)
                            self._cond.notify_all()
        except httpx.HTTPError:
            if not self._closed:  # closing the client ends a stream still open: not an error
                raise
        finally:
            with self._cond:
                self._reading = False
                self._cond.notify_all()

    def page_value(self, elem_id: str) -> Any:
        """The value the page shows first in the component ``elem_id`` (from the app's ``/config``), e.g. the
        Segment tab's model: each app's own default, also when two apps of different commits are compared."""
        return page_values(self.root, self.http).get(elem_id)

    def close(self) -> None:
        self._closed = True
        self.http.close()


_PAGE_VALUES: dict[str, dict[str, Any]] = {}
_PAGE_LOCK = threading.Lock()


def page_values(root: str, http: httpx.Client) -> dict[str, Any]:
    """``{elem_id: initial value}`` of the app at ``root``'s components, read once per app."""
    with _PAGE_LOCK:
        if root not in _PAGE_VALUES:
            config = http.get(f"{root}/config").json()
            _PAGE_VALUES[root] = {c["props"]["elem_id"]: c["props"].get("value") for c in config["components"]
                                  if (c.get("props") or {}).get("elem_id")}
        return _PAGE_VALUES[root]


def api_table(url: str, http: httpx.Client | None = None) -> dict[str, tuple[int, list[Any]]]:
    """``{api name: (fn index, [default value of each input])}`` from the app's ``/config`` and API info."""
    http = http or httpx.Client(timeout=60)
    root = url.rstrip("/")
    config = http.get(f"{root}/config").json()
    info = http.get(f"{root}/gradio_api/info").json()["named_endpoints"]
    table = {}
    for dep in config["dependencies"]:
        name = dep.get("api_name")
        if not name or f"/{name}" not in info:
            continue
        params = info[f"/{name}"]["parameters"]
        table[name] = (dep["id"], [p.get("parameter_default") for p in params])
    return table
