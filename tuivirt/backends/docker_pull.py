"""Pulling an image through a host's Docker endpoint, event by event, cancellable.

A pull is not one bounded call: it lasts as long as the registry takes. Each step waits
at most PULL_STALL (seconds without a single event from the daemon) on a deadline of its
own, so a slow registry never marks the host's Docker endpoint hung for its other calls
(the endpoint's deadline is the host's timeout, 10 s by default; a layer can take longer
to start). `cancel()` shuts the connection down from any thread: the blocked read wakes,
and dockerd stops a pull whose last client went away.

The request is made with the API client's requests session (`api.post`), not
`api.pull()`: the SDK's pull hides the response, and cancelling needs it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

from tuivirt.backends.deadline import Deadline
from tuivirt.backends.docker import DockerEndpoint, _message
from tuivirt.create.container import PullError, PullProgress, PullStatus
from tuivirt.errors import HostError

#: Seconds a pull may go without any event from the daemon before it is given up.
#: Docker sends a progress event per layer every ~0.1 s while bytes move.
PULL_STALL = 120.0


class PullCancelled(Exception):
    """The pull was cancelled (ctrl+c, the dialog's cancel): nothing was pulled."""


class ImagePull:
    """One pull of `image` (name:tag or name@digest) on a Docker endpoint.

    A push (docker_images.ImagePush) is the same stream the other way: it overrides
    `verb`, `_progress` and `_request`.
    """

    verb = "pull"

    def __init__(self, endpoint: DockerEndpoint, image: str, *,
                 stall: float = PULL_STALL) -> None:
        self.endpoint = endpoint
        self.image = image
        self.deadline = Deadline(endpoint.host, f"{endpoint.endpoint} ({self.verb} {image})",
                                 stall)
        self.cancelled = threading.Event()
        self._response: Any = None
        self._lock = threading.Lock()

    def run(self, on_progress: Callable[[PullStatus], None] | None = None) -> PullStatus:
        """Pull to the end; PullError (the registry's words), PullCancelled, HostError."""
        progress = self._progress()
        status = progress.status()
        try:
            events = self.deadline.run(self.verb, self._open)
            while True:
                if self.cancelled.is_set():
                    raise PullCancelled(self.image)
                event = self.deadline.run(self.verb, next, events, None)
                if event is None:
                    break
                status = progress.feed(event)
                if on_progress is not None:
                    on_progress(status)
        except (PullError, PullCancelled, HostError):
            self.cancel()
            raise
        except BaseException as exc:  # ctrl+c while waiting, a dropped connection...
            was_cancelled = self.cancelled.is_set()  # then the error is the shutdown's
            self.cancel()
            if was_cancelled and not isinstance(exc, KeyboardInterrupt):
                raise PullCancelled(self.image) from None
            if isinstance(exc, Exception):
                raise HostError(self.endpoint.host, f"{self.endpoint.endpoint}: {self.verb} "
                                f"{self.image}: {_message(exc)}") from None
            raise
        finally:
            self._close()
        if self.cancelled.is_set():
            raise PullCancelled(self.image)
        return status

    def cancel(self) -> None:
        """Stop the pull from any thread: the connection is shut down under the reader."""
        self.cancelled.set()
        with self._lock:
            response = self._response
        shut_response(response)

    def _close(self) -> None:
        with self._lock:
            response, self._response = self._response, None
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()

    def _progress(self) -> PullProgress:
        return PullProgress(self.image)

    def _request(self, api: Any) -> Any:
        """Send the request; the streaming response."""
        from docker import auth, utils

        repository, tag = utils.parse_repository_tag(self.image)
        params = {"fromImage": repository, "tag": tag or "latest"}
        registry, _name = auth.resolve_repository_name(repository)
        headers = {}
        header = auth.get_config_header(api, registry)
        if header:
            headers["X-Registry-Auth"] = header
        url = f"{api.base_url}/v{api.api_version}/images/create"
        return api.post(url, params=params, headers=headers, stream=True, timeout=None)

    def _open(self) -> Iterator[dict[str, Any]]:
        api = self.endpoint._require()
        response = self._request(api)
        with self._lock:
            self._response = response
        if self.cancelled.is_set():
            raise PullCancelled(self.image)
        if response.status_code >= 400:  # refused before streaming: not found, denied...
            try:
                words = response.json().get("message")
            except ValueError:
                words = None
            raise PullError(str(words or f"HTTP {response.status_code}"))
        return _json_events(response)


def _json_events(response: Any) -> Iterator[dict[str, Any]]:
    """The daemon's newline-separated JSON objects, as they arrive."""
    buffer = b""
    for chunk in response.iter_content(chunk_size=None):
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if line.strip():
                yield _decode(line)
    if buffer.strip():
        yield _decode(buffer)


def _decode(line: bytes) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        return {"status": line.decode("utf-8", "replace").strip()}
    return event if isinstance(event, dict) else {"status": str(event)}


def shut_response(response: Any) -> None:
    """Shut a streaming daemon response's socket down: wakes a recv() blocked on it in
    another thread (a pull's, a push's or a build's reader), from any thread."""
    if response is None:
        return
    connection = getattr(getattr(response, "raw", None), "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
