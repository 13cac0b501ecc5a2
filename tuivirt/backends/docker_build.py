"""Building an image from a context directory on a host, line by line, cancellable.

The context is read ON THE HOST: locally with `tar`, on an SSH host with `tar` run there
over the host's SSH connection; the archive streams (chunked) into dockerd's /build as
tar writes it, so no copy of the context lands on this machine. The build log comes
back as dockerd writes it (one JSON object a line) and is turned into `BuildLine`s,
every one made inert (text.py) here: a RUN step's output is anybody's text.

The request is made with the API client's requests session (`api.post`), as
`api.build(fileobj=..., custom_context=True)` makes it, but keeping the response:
`cancel()` shuts its socket down under the reader from any thread, and dockerd stops a
build whose client went away (its intermediate container removed: forcerm).

No bound on silence: a RUN step may print nothing for minutes. Cancel is the remedy.
"""

from __future__ import annotations

import contextlib
import enum
import re
import shlex
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from tuivirt.backends.docker import DockerEndpoint, _message
from tuivirt.backends.docker_pull import _json_events, shut_response
from tuivirt.errors import HostError
from tuivirt.text import inert

#: Lines of the failing step's output kept to show with the failure.
FAILED_OUTPUT_LINES = 20
#: A line of build output longer than this is cut (a RUN printing a megabyte on one line).
MAX_LINE = 4096
#: Bytes read from tar at a time.
CHUNK = 64 * 1024
#: Bytes read at a time from tar on an SSH host: the channel's whole receive window
#: (asyncssh's default, 2 MiB). asyncssh re-opens the window as it hands data to the
#: stream, not as the stream is read: read in 64 KiB pieces, a 256 MiB context held
#: ~250 MiB in its buffers (RSS 311 MB); read a window at a time, RSS stays ~70 MB.
REMOTE_CHUNK = 2 * 1024 * 1024

# Docker's reference grammar (distribution/reference): a registry host[:port]/, path
# components of lowercase letters and digits joined by . _ __ or dashes, and a tag.
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)


def check_tag(text: str) -> tuple[str, str | None]:
    """(`REPO:TAG` with `:latest` said when no tag was given, the problem or None)."""
    if not text:
        return text, "a tag is needed: REPO:TAG (e.g. project/webserver:1.0)"
    if len(text) > 255 + 129:
        return text, f"tag {inert(text[:40])}…: too long"
    name, tag = text, "latest"
    last = text.rsplit("/", 1)[-1]
    if "@" in text:
        return text, f"tag {inert(text)}: a digest (@) names an image, it is no tag to build"
    if ":" in last:
        name, _, tag = text.rpartition(":")
    bad = f"tag {inert(text)}: not a valid REPO:TAG"
    if not _TAG.fullmatch(tag):
        return text, f"{bad} (the tag after ':' takes letters, digits, _ . -, at most 128)"
    parts = name.split("/")
    if len(parts) > 1 and _DOMAIN.fullmatch(parts[0]) and (
            "." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # a registry: host[:port]
    if not name or len(name) > 255 or not all(_COMPONENT.fullmatch(p) for p in parts):
        lower = " (a repository name is lowercase)" if name != name.lower() else ""
        return text, f"{bad}{lower}"
    return f"{name}:{tag}", None


class LineKind(enum.Enum):
    STEP = "step"  # Step 2/5 : RUN make
    CACHE = "cache"  # ---> Using cache
    INFO = "info"  # ---> 1a2b3c, Running in ..., Removing intermediate container, pulls
    OUTPUT = "output"  # what a RUN step printed
    ERROR = "error"  # the daemon's error


@dataclass(frozen=True, slots=True)
class BuildLine:
    kind: LineKind
    text: str  # inert: one line, every control character escaped


@dataclass(frozen=True, slots=True)
class Built:
    """A build that succeeded."""
    tag: str
    image_id: str  # sha256:...
    steps: int
    cached: int  # steps answered from the cache
    seconds: float
    context_bytes: int


class BuildFailed(Exception):
    """The daemon refused the build or a step failed; what to show for it."""

    def __init__(self, message: str, step: str = "",
                 output: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message  # inert
        self.step = step  # inert: `Step 3/5 : RUN false`, "" before any step ran
        self.output = output  # inert: the step's last lines

    def describe(self) -> str:
        where = f"failed at {self.step}" if self.step else "failed"
        lines = [f"build {where}: {self.message}"]
        if self.output:
            lines.append(f"last output of the step ({len(self.output)} lines):")
            lines += [f"  {line}" for line in self.output]
        return "\n".join(lines)


class BuildCancelled(Exception):
    """Cancelled (esc, ctrl+c): the daemon stops the build; no image is tagged."""


_STEP = re.compile(r"Step \d+/\d+ :")
_STDERR_ON, _STDERR_OFF = "\x1b[91m", "\x1b[0m"


class BuildLog:
    """Turns dockerd's JSON events into lines; remembers the step running and the last
    lines of its output (bounded), the image id, and the steps."""

    def __init__(self, on_line: Callable[[BuildLine], None] | None = None) -> None:
        self.on_line = on_line
        self.step = ""
        self.step_output: deque[str] = deque(maxlen=FAILED_OUTPUT_LINES)
        self.steps = 0
        self.cached = 0
        self.image_id = ""
        self._partial = ""

    def feed(self, event: dict[str, Any]) -> None:
        """One event; BuildFailed when it is the daemon's error."""
        if event.get("error") or event.get("errorDetail"):
            self.flush()
            detail = event.get("errorDetail")
            words = event.get("error") or (detail.get("message")
                                           if isinstance(detail, dict) else None)
            message = inert(str(words or "the build failed").strip())
            self._emit(LineKind.ERROR, message)
            raise BuildFailed(message, self.step, tuple(self.step_output))
        aux = event.get("aux")
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            self.image_id = aux["ID"]
        stream = event.get("stream")
        if isinstance(stream, str):
            self._text(stream)
        status = event.get("status")
        if isinstance(status, str) and status and not event.get("progressDetail"):
            # A base image being pulled: its phases, not its progress bars.
            layer = event.get("id")
            self._emit(LineKind.INFO, inert(f"{layer}: {status}" if layer else status))

    def flush(self) -> None:
        if self._partial:
            partial, self._partial = self._partial, ""
            self._line(partial)

    def _text(self, text: str) -> None:
        # The classic builder wraps what a step writes to stderr in red itself (SGR 91,
        # then SGR 0): its own markers are dropped; anything else stays escaped.
        text = self._partial + text.replace(_STDERR_ON, "").replace(_STDERR_OFF, "")
        *lines, self._partial = text.split("\n")
        if len(self._partial) > MAX_LINE:
            self._partial = self._partial[:MAX_LINE + 1]  # cut (and marked) at its end
        for line in lines:
            self._line(line)

    def _line(self, raw: str) -> None:
        raw = raw.rstrip("\r")
        if "\r" in raw:  # a progress bar redrawn in place: its last state
            raw = raw.rsplit("\r", 1)[-1]
        if len(raw) > MAX_LINE:
            raw = raw[:MAX_LINE] + "…"
        text = inert(raw)
        stripped = raw.strip()
        if _STEP.match(raw):
            self.step = text
            self.step_output.clear()
            self.steps += 1
            self._emit(LineKind.STEP, text)
        elif stripped == "---> Using cache":
            self.cached += 1
            self._emit(LineKind.CACHE, text)
        elif (stripped.startswith("--->") or stripped.startswith("Removing intermediate")
              or stripped.startswith("Successfully built")
              or stripped.startswith("Successfully tagged")):
            if stripped.startswith("Successfully built") and not self.image_id:
                self.image_id = stripped.split()[-1]
            self._emit(LineKind.INFO, text)
        else:
            self.step_output.append(text)
            self._emit(LineKind.OUTPUT, text)

    def _emit(self, kind: LineKind, text: str) -> None:
        if self.on_line is not None:
            self.on_line(BuildLine(kind, text))


class ContextSource(Protocol):
    """The build context as a tar stream, read from the host that holds it."""

    def chunks(self) -> Iterator[bytes]: ...
    def problem(self) -> str | None: ...  # after the stream ended: why it is incomplete
    def close(self) -> None: ...


class LocalTar:
    """`tar -C DIR -cf - .` on this machine."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = b""

    def chunks(self) -> Iterator[bytes]:
        self._proc = subprocess.Popen(["tar", "-C", self.directory, "-cf", "-", "."],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE)
        assert self._proc.stdout is not None
        while chunk := self._proc.stdout.read(CHUNK):
            yield chunk

    def problem(self) -> str | None:
        proc = self._proc
        if proc is None:
            return None
        assert proc.stderr is not None
        self._stderr = proc.stderr.read()
        status = proc.wait()
        return None if status == 0 else _tar_problem(status, self._stderr)

    def close(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()


class RemoteTar:
    """`tar -C DIR -cf - .` run on an SSH host; its stdout read over the connection."""

    def __init__(self, tunnel: Any, directory: str) -> None:
        self.tunnel = tunnel
        self.directory = directory
        self._process: Any = None

    def chunks(self) -> Iterator[bytes]:
        from tuivirt.backends.ssh import run_sync

        command = f"tar -C {shlex.quote(self.directory)} -cf - ."
        self._process = process = self.tunnel.open_process(command)
        while True:
            chunk = run_sync(process.stdout.read(REMOTE_CHUNK), self.tunnel.timeout * 6)
            if not chunk:
                return
            yield bytes(chunk)

    def problem(self) -> str | None:
        from tuivirt.backends.ssh import run_sync

        process = self._process
        if process is None:
            return None
        try:
            result = run_sync(process.wait(), self.tunnel.timeout)
        except Exception as exc:
            return f"tar on the host: {exc}"
        status = int(result.exit_status if result.exit_status is not None else -1)
        return None if status == 0 else _tar_problem(status, bytes(result.stderr or b""))

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(Exception):
                process.close()


def _tar_problem(status: int, stderr: bytes) -> str:
    words = stderr.decode("utf-8", "replace").strip().splitlines()
    return f"reading the context failed (tar exit {status}): " + \
        inert(words[-1] if words else "no message")


class ImageBuild:
    """One build of `tag` from a context on an endpoint's host."""

    def __init__(self, endpoint: DockerEndpoint, source: ContextSource, tag: str, *,
                 no_cache: bool = False) -> None:
        self.endpoint = endpoint
        self.source = source
        self.tag = tag
        self.no_cache = no_cache
        self.cancelled = threading.Event()
        self.context_bytes = 0
        self._response: Any = None
        self._lock = threading.Lock()

    def run(self, on_line: Callable[[BuildLine], None] | None = None) -> Built:
        """Build to the end; BuildFailed, BuildCancelled, HostError."""
        began = time.monotonic()
        log = BuildLog(on_line)
        try:
            events = self._open(log)
            for event in events:
                if self.cancelled.is_set():
                    raise BuildCancelled(self.tag)
                log.feed(event)
            log.flush()
        except (BuildFailed, BuildCancelled, HostError):
            self.cancel()
            raise
        except BaseException as exc:  # ctrl+c while reading, a dropped connection...
            was_cancelled = self.cancelled.is_set()
            self.cancel()
            if was_cancelled and not isinstance(exc, KeyboardInterrupt):
                raise BuildCancelled(self.tag) from None
            if isinstance(exc, Exception):
                raise HostError(self.endpoint.host, f"{self.endpoint.endpoint}: build "
                                f"{self.tag}: {inert(_message(exc))}") from None
            raise
        finally:
            self._close()
        if self.cancelled.is_set():
            raise BuildCancelled(self.tag)
        if not log.image_id:
            raise BuildFailed("the daemon ended the build without naming an image",
                              log.step, tuple(log.step_output))
        return Built(self.tag, log.image_id, log.steps, log.cached,
                     time.monotonic() - began, self.context_bytes)

    def cancel(self) -> None:
        """Stop the build from any thread: the upload ends, the connection is shut."""
        self.cancelled.set()
        self.source.close()
        with self._lock:
            response = self._response
        shut_response(response)

    def _close(self) -> None:
        self.source.close()
        with self._lock:
            response, self._response = self._response, None
        if response is not None:
            with contextlib.suppress(Exception):
                response.close()

    def _upload(self, log: BuildLog) -> Iterator[bytes]:
        """The context, chunk by chunk, as requests sends it (chunked encoding)."""
        began = time.monotonic()
        for chunk in self.source.chunks():
            if self.cancelled.is_set():
                raise BuildCancelled(self.tag)
            self.context_bytes += len(chunk)
            yield chunk
        problem = self.source.problem()
        if problem is not None:
            raise _ContextBroken(problem)
        from tuivirt.sizes import human_size

        log._emit(LineKind.INFO, f"context sent: {human_size(self.context_bytes)} in "
                  f"{time.monotonic() - began:.2f} s")

    def _open(self, log: BuildLog) -> Iterator[dict[str, Any]]:
        api = self.endpoint._require()
        params = {"t": self.tag, "rm": "1", "forcerm": "1", "nocache": self.no_cache,
                  "q": False, "pull": False, "dockerfile": "Dockerfile"}
        headers = {"Content-Type": "application/tar"}
        url = f"{api.base_url}/v{api.api_version}/build"
        try:
            response = api.post(url, params=params, headers=headers, stream=True,
                                data=self._upload(log), timeout=None)
        except _ContextBroken as exc:
            raise BuildFailed(exc.message) from None
        except BaseException as exc:
            # requests wraps what the generator raised; find ours again.
            cause: BaseException | None = exc
            while cause is not None:
                if isinstance(cause, _ContextBroken):
                    raise BuildFailed(cause.message) from None
                if isinstance(cause, BuildCancelled):
                    raise BuildCancelled(self.tag) from None
                cause = cause.__cause__ or cause.__context__
            raise
        with self._lock:
            self._response = response
        if self.cancelled.is_set():
            raise BuildCancelled(self.tag)
        if response.status_code >= 400:  # refused before building: a bad Dockerfile...
            try:
                words = response.json().get("message")
            except ValueError:
                words = None
            raise BuildFailed(inert(str(words or f"HTTP {response.status_code}").strip()))
        return _json_events(response)


class _ContextBroken(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
