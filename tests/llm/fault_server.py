"""A local LLM server for tests and benchmarks: OpenAI chat completions and Gemini REST, with faults.

It speaks just enough HTTP/1.1 (keep-alive, Content-Length) on 127.0.0.1 to serve the
official ``openai`` and ``google-genai`` clients, and answers like a tiny deterministic
"model": stage 1 splits the caption at prepositions, stage 2 puts "not" (or "without" for
"with") before the chosen object's predicate; the negbench style's absent-objects stage lists the
caption's first object, its plural, "animal", "umbrella" and "bicycle", and its paraphrase stage turns
"image" into "picture" (and, carelessly, "horse" into "pony").

Faults are requested by the caption itself, so one run can mix them: ``FAULT:<kind>x<n>``
makes the first ``n`` attempts of each stage fail that way (default n = 1), then answers
normally. Kinds: ``429`` (Retry-After), ``500``, ``401`` (quotes the key back), ``slow`` (answers after ``slow_s``),
``drop`` (closes the connection), ``truncbody`` (cuts the HTTP body short), ``badjson``
(the model's text is truncated JSON), ``shape`` (JSON of the wrong shape), ``empty`` (no
text), ``leak`` (commentary instead of a caption). Every request is logged (stage,
caption, fault, status, time) in ``requests`` and, if ``log_path`` is set, as JSONL.
A ``GET`` (the client's reachability probe, e.g. ``/v1/models``) is answered with a model
list and counted in ``probes`` only, so request counts stay those of the chat requests.

Run standalone for benchmarks: ``python fault_server.py --port 0 --delay 0.1`` prints
``PORT <n>`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import threading
import time
from collections import Counter
from typing import Any

from tests.helpers.servers import WatchedThread, unwatch, watch

DATA_HEADER_PREFIX = "INPUT ("
_FAULT = re.compile(r"FAULT:(\d{3}|[a-wyz]+)(?:x(\d+))?")
_PREPOSITIONS = ("next to", "on", "in", "at", "with", "near", "under", "over", "behind", "beside",
                 "through", "by", "across", "against", "inside", "above", "below", "along", "from")
_ARTICLES = {"a", "an", "the", "some", "his", "her", "their", "its"}
_REASON = {200: "OK", 401: "Unauthorized", 429: "Too Many Requests", 500: "Internal Server Error", 404: "Not Found", 400: "Bad Request"}


# ----------------------------------------------------------------------------- the toy model


def _words(text: str) -> list[str]:
    return text.replace(",", " ").split()


def decompose(caption: str) -> dict[str, Any]:
    """Subject = the word before the first preposition; objects = the phrases after each one."""
    words = _words(caption)
    lowered = [w.lower() for w in words]
    marks: list[tuple[int, int]] = []  # (start index, length) of each preposition
    i = 0
    while i < len(lowered):
        for prep in _PREPOSITIONS:
            parts = prep.split()
            if lowered[i : i + len(parts)] == parts:
                marks.append((i, len(parts)))
                i += len(parts) - 1
                break
        i += 1
    if not marks or marks[0][0] == 0:
        subject = next((w for w in words if w.lower() not in _ARTICLES), words[0] if words else "thing")
        return {"subject": subject, "object-predicate-pairs": []}
    subject = words[marks[0][0] - 1]
    pairs = []
    for n, (start, length) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(words)
        phrase = [w for w in words[start + length : end] if w.lower() not in _ARTICLES]
        if phrase:
            pairs.append({"object": " ".join(phrase), "predicate": " ".join(words[start : start + length])})
    return {"subject": subject, "object-predicate-pairs": pairs}


def absent_objects(data: dict[str, Any]) -> list[str]:
    """The negbench style's stage, answered like a careless model: first the caption's own first
    object and its plural (which the rules must refuse), then "animal", then two plausible objects."""
    objects = [str(o) for o in data.get("objects") or []]
    careless = [objects[0], objects[0] + "s"] if objects else []
    return careless + ["animal", "umbrella", "bicycle"]


def paraphrase(text: str) -> str:
    """The negbench paraphrase stage: "image" becomes "picture"; a careless "pony" replaces "horse"."""
    return text.replace("image", "picture").replace("photo", "snapshot").replace("horse", "pony")


def form_sentences(data: dict[str, Any]) -> dict[str, str]:
    """Negate the chosen object's predicate; drop predicate + object for the exclusion."""
    caption = data.get("caption", "")
    chosen = data.get("chosen-object", "")
    pairs = data.get("object-predicate-pairs") or []
    predicate = next((p.get("predicate", "") for p in pairs if p.get("object") == chosen), "")
    words = _words(caption)
    target = predicate.split()
    lowered = [w.lower() for w in words]
    for i in range(len(words)):
        if target and lowered[i : i + len(target)] == [t.lower() for t in target]:
            negation = ["without"] + words[i + 1 : i + len(target)] if target == ["with"] else ["not"] + words[i : i + len(target)]
            negated = words[:i] + negation + words[i + len(target) :]
            rest = words[i + len(target) :]
            j = 0
            while j < len(rest) and rest[j].lower() in _ARTICLES:
                j += 1
            j += len(chosen.split())
            exclusion = words[:i] + rest[j:]
            return {"negative-prompt": " ".join(negated), "exclusion-prompt": " ".join(exclusion) or caption}
    return {"negative-prompt": "not " + caption, "exclusion-prompt": caption}


# ----------------------------------------------------------------------------- the server


class FaultServer:
    """An asyncio HTTP server on 127.0.0.1; ``start()`` runs it in a thread, ``serve()`` in the caller."""

    def __init__(self, *, delay: float = 0.0, slow_s: float = 5.0, retry_after: str = "1",
                 log_path: str | None = None, keep_log: bool = True) -> None:
        self.delay = delay
        self.slow_s = slow_s
        self.retry_after = retry_after
        self.log_path = log_path
        self.keep_log = keep_log
        self.requests: list[dict[str, Any]] = []
        self.probes = 0
        self.count = 0
        self.inflight = 0
        self.max_inflight = 0
        self.port = 0
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._connections: set["_Connection"] = set()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._log_file = open(log_path, "a", encoding="utf-8") if log_path else None

    # -- lifecycle
    async def _listen(self, port: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(lambda: _Connection(self), "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    def start(self, port: int = 0) -> "FaultServer":
        """Serve in a thread, on ``port`` (0: any free port)."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            loop.run_until_complete(self._listen(port))
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name="fault-server")
        self._thread.start()
        ready.wait(10)
        self._watched = WatchedThread("the LLM fault server", self._thread)
        watch(self._watched)
        return self

    def stop(self) -> None:
        if getattr(self, "_watched", None) is not None:
            unwatch(self._watched)
        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if self._log_file:
            self._log_file.close()

    async def _shutdown(self) -> None:
        """Stop listening and drop every open connection, as a crashed server would."""
        assert self._server is not None
        self._server.close()
        for connection in list(self._connections):
            connection.transport.abort()
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logged(self, **match: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if all(r.get(k) == v for k, v in match.items())]

    # -- one request
    async def handle(self, method: str, path: str, body: bytes, conn: "_Connection") -> None:
        if method == "GET":
            self.probes += 1
            model = path.rsplit("/", 1)[-1]
            conn.respond(200, {"object": "list", "data": [{"id": "local", "object": "model"}], "name": f"models/{model}"})
            return
        self.count += 1
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            await self._answer(path, body, conn)
        finally:
            self.inflight -= 1

    async def _answer(self, path: str, body: bytes, conn: "_Connection") -> None:
        api = "gemini" if ":generateContent" in path else "openai"
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            conn.respond(400, {"error": {"message": "bad JSON"}})
            return
        stage, data = _read_request(api, payload)
        caption = str(data.get("caption", "")) if data else ""
        fault = self._fault_for(stage, caption)
        entry = {"t": time.time(), "api": api, "path": path, "stage": stage, "caption": caption,
                 "fault": fault, "auth": _auth_header_seen(conn.headers)}
        self._record(entry)
        if self.delay:
            await asyncio.sleep(self.delay)
        if fault == "429":
            headers = {"Retry-After": self.retry_after}
            error = {"error": {"code": 429, "message": "rate limited", "status": "RESOURCE_EXHAUSTED",
                               "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                            "retryDelay": f"{self.retry_after}s"}]}}
            conn.respond(429, error, headers)
            return
        if fault == "401":  # like real providers, quote (part of) the key back
            key = conn.headers.get("x-goog-api-key") or conn.headers.get("authorization", "").split(" ")[-1]
            conn.respond(401, {"error": {"code": 401, "message": f"Incorrect API key provided: {key}",
                                         "status": "UNAUTHENTICATED"}})
            return
        if fault == "500":
            conn.respond(500, {"error": {"code": 500, "message": "internal error", "status": "INTERNAL"}})
            return
        if fault == "drop":
            conn.transport.close()
            return
        if fault == "slow":
            await asyncio.sleep(self.slow_s)
        text = _model_text(stage, data, fault)
        answer = _gemini_answer(text, payload) if api == "gemini" else _openai_answer(text, payload)
        if fault == "truncbody":
            conn.respond_truncated(200, answer)
            return
        conn.respond(200, answer)

    def _fault_for(self, stage: str, caption: str) -> str | None:
        match = _FAULT.search(caption)
        if not match:
            return None
        with self._lock:
            key = (stage, caption)
            self._attempts[key] += 1
            attempt = self._attempts[key]
        return match.group(1) if attempt <= int(match.group(2) or 1) else None

    def _record(self, entry: dict[str, Any]) -> None:
        if self.keep_log:
            with self._lock:
                self.requests.append(entry)
        if self._log_file:
            self._log_file.write(json.dumps(entry) + "\n")
            self._log_file.flush()


def _auth_header_seen(headers: dict[str, str]) -> bool:
    return bool(headers.get("authorization") or headers.get("x-goog-api-key"))


def _read_request(api: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(stage, fenced input data) of a chat request; ("trivial", {}) when there is none."""
    if api == "gemini":
        system = " ".join(p.get("text", "") for p in (payload.get("systemInstruction") or {}).get("parts", []))
        contents = payload.get("contents") or [{}]
        last = " ".join(p.get("text", "") for p in contents[-1].get("parts", []))
    else:
        messages = payload.get("messages") or [{}]
        system = messages[0].get("content", "") if messages[0].get("role") == "system" else ""
        last = messages[-1].get("content", "") or ""
    if "relation-parsing" in system:
        stage = "relation_parsing"
    elif "sentence-formation" in system:
        stage = "sentence_formation"
    elif "absent-objects" in system:
        stage = "absent_objects"
    elif "paraphrase-sentences" in system:
        stage = "negbench_paraphrase"
    else:
        return "trivial", {}
    data: dict[str, Any] = {}
    if last.startswith(DATA_HEADER_PREFIX) and "\n" in last:
        try:
            data = json.loads(last.split("\n", 1)[1])
        except json.JSONDecodeError:
            data = {}
    return stage, data


def _model_text(stage: str, data: dict[str, Any], fault: str | None) -> str:
    if fault == "empty":
        return ""
    if fault == "badjson":
        return '{"subject": "dog", "object-predicate-pa'
    if fault == "shape":
        return json.dumps({"answer": ["not", "what", "was", "asked"]})
    if stage == "trivial":
        return "ok"
    if stage == "relation_parsing":
        return json.dumps(decompose(str(data.get("caption", ""))))
    if stage == "absent_objects":
        return json.dumps({"absent-objects": absent_objects(data)})
    if stage == "negbench_paraphrase":
        return json.dumps({"sentences": [paraphrase(str(t)) for t in data.get("sentences") or []]})
    sentences = form_sentences(data)
    if fault == "leak":
        sentences["negative-prompt"] = "Sure, here is the JSON you asked for: " + sentences["negative-prompt"]
    return json.dumps(sentences)


def _openai_answer(text: str, payload: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens = sum(len(str(m.get("content", ""))) for m in payload.get("messages", [])) // 4
    return {
        "id": "chatcmpl-local", "object": "chat.completion", "created": int(time.time()),
        "model": payload.get("model", "local"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text) // 4 + 1,
                  "total_tokens": prompt_tokens + len(text) // 4 + 1},
    }


def _gemini_answer(text: str, payload: dict[str, Any]) -> dict[str, Any]:
    prompt_tokens = len(json.dumps(payload.get("contents", []))) // 4
    return {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": prompt_tokens, "candidatesTokenCount": len(text) // 4 + 1,
                          "totalTokenCount": prompt_tokens + len(text) // 4 + 1},
        "modelVersion": "local",
    }


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; requests are handled one at a time, in order."""

    def __init__(self, server: FaultServer) -> None:
        self.server = server
        self.buffer = b""
        self.headers: dict[str, str] = {}
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.busy = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._maybe_handle()

    def _maybe_handle(self) -> None:
        if self.busy:
            return
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        if len(self.buffer) < head_end + 4 + length:
            return
        body = self.buffer[head_end + 4 : head_end + 4 + length]
        self.buffer = self.buffer[head_end + 4 + length :]
        method, path, _ = (head[0].split(" ") + ["", "", ""])[:3]
        self.headers = headers
        self.busy = True
        task = asyncio.ensure_future(self.server.handle(method, path, body, self))
        task.add_done_callback(self._done)

    def _done(self, task: "asyncio.Future[None]") -> None:
        self.busy = False
        if task.cancelled():
            return
        if task.exception() is not None and not self.transport.is_closing():
            self.respond(500, {"error": {"message": repr(task.exception())}})
        if not self.transport.is_closing():
            self._maybe_handle()

    def _encode(self, status: int, payload: Any, headers: dict[str, str] | None) -> tuple[bytes, bytes]:
        body = json.dumps(payload).encode()
        lines = [f"HTTP/1.1 {status} {_REASON.get(status, 'Status')}", "Content-Type: application/json",
                 f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode(), body

    def respond(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        if self.transport.is_closing():
            return
        head, body = self._encode(status, payload, headers)
        self.transport.write(head + body)

    def respond_truncated(self, status: int, payload: Any) -> None:
        head, body = self._encode(status, payload, None)
        self.transport.write(head + body[: len(body) // 2])
        self.transport.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every answer")
    parser.add_argument("--log", default=None, help="append one JSON line per request here")
    args = parser.parse_args(argv)
    server = FaultServer(delay=args.delay, log_path=args.log, keep_log=False)

    async def serve() -> None:
        await server._listen(args.port)
        print(f"PORT {server.port}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
