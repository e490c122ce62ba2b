"""What stands before the models: API keys and a request size cap (rate: predictor/ratelimit)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping

Scope = dict
Receive = Callable
Send = Callable


def find_key(keys: Mapping[str, str], offered: str | None) -> str | None:
    """Return the name of the key `offered` matches, comparing every key in constant time."""
    if not offered:
        return None
    given = offered.encode()
    found = None
    for name, secret in keys.items():  # no early exit: the time does not depend on which key
        if hmac.compare_digest(given, secret.encode()):
            found = name
    return found


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: answer 413 once a request body passes its cap, whatever the headers say.

    The cap is `max_bytes` for multipart bodies to the paths in `upload_paths` and
    `small_bytes` for everything else (a JSON predict names a path and a point). A
    declared Content-Length over it is refused before reading anything; otherwise the bytes
    are counted as the application reads them, so chunked uploads and a lying Content-Length
    are cut off too, before any decoding.
    """

    def __init__(self, app: Callable, max_bytes: int, small_bytes: int = 64 * 1024,
                 upload_paths: frozenset[str] = frozenset({"/v1/predict"})):
        self.app, self.max_bytes, self.small_bytes = app, max_bytes, small_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"] in self.upload_paths and _is_multipart(scope)
        cap = self.max_bytes if upload else self.small_bytes
        if _declared_length(scope) > cap:
            await _refuse(send, cap)
            return
        state = {"received": 0, "started": False, "over": False}

        async def counting_receive() -> dict:
            message = await receive()
            state["received"] += len(message.get("body", b""))
            if state["received"] > cap:
                state["over"] = True
                raise _TooLarge
            return message

        async def guarded_send(message: dict) -> None:
            if state["over"]:  # the application caught _TooLarge and answered anyway
                return
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not state["over"]:  # whatever the application made of _TooLarge, answer 413
                raise
        if state["over"] and not state["started"]:
            await _refuse(send, cap)


async def _refuse(send: Send, cap: int) -> None:
    message = f"the request is larger than the {cap} byte limit"
    body = json.dumps({"error": "TooLarge", "message": message}, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.split(b";")[0].strip().lower() == b"multipart/form-data"
    return False


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0
