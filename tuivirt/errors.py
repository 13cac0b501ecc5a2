"""The few exception types tuivirt raises; each carries what a user needs to act on it."""

from __future__ import annotations

from collections.abc import Iterable


class TuivirtError(Exception):
    """Base class: a failure with a message meant for the user, never a traceback.

    `message` is always set: the words to show in context (an outcome line, a
    notification); `str()` may add where it happened (file:line, host/guest).
    """

    def __init__(self, message: str, text: str | None = None) -> None:
        super().__init__(message if text is None else text)
        self.message = message


def message_of(exc: BaseException) -> str:
    """The words to show for any failure: ours carry `.message`, a library's its str."""
    return exc.message if isinstance(exc, TuivirtError) else str(exc)


def read_only_refusal(host: str, what: str) -> str:
    """What a host marked read-only says to a change (`what`: "start web")."""
    return f"host {host} is read-only: refusing to {what}"


def unknown_host(name: str, configured: Iterable[str]) -> str:
    """What a host name that is not in the config is told (CLI, UI, config lookups)."""
    return f"unknown host {name!r} (configured: {', '.join(configured)})"


class ConfigError(TuivirtError):
    """The hosts config is malformed; names the file, the line and the key."""

    def __init__(self, path: str, message: str, *, line: int | None = None,
                 key: str | None = None) -> None:
        self.path = path
        self.line = line
        self.key = key
        where = path if line is None else f"{path}:{line}"
        what = f"{key}: " if key else ""
        super().__init__(message, f"{where}: {what}{message}")


class AddressError(TuivirtError):
    """A guest address that matches nothing, or more than one guest."""

    def __init__(self, address: str, message: str,
                 candidates: tuple[str, ...] = ()) -> None:
        self.address = address
        self.candidates = candidates
        if candidates:
            message += "; candidates: " + ", ".join(candidates)
        super().__init__(message, f"{address}: {message}")


class HostError(TuivirtError):
    """A host (or one of its endpoints) cannot be reached, or refused us."""

    def __init__(self, host: str, message: str) -> None:
        self.host = host
        super().__init__(message, f"host {host}: {message}")


class EndpointHung(HostError):
    """An endpoint did not answer within its deadline (or is still stuck on an earlier call).

    `pending` (a backends.deadline.Pending) is the outcome of this very call, which was
    sent and may still take effect; None when the call was refused before being sent.
    """

    def __init__(self, host: str, message: str, pending: object = None) -> None:
        super().__init__(host, message)
        self.pending = pending


class SourceError(Exception):
    """A host source (ssh_config, Ansible inventory) that cannot be read; `str()` is the
    whole message. Here, not in sources.py: config.py catches it without importing the
    sources' readers (subprocess, shutil, shlex: ~6 ms of every command's start)."""


class AnsweredLate(EndpointHung):
    """A call made in place (backends.deadline.in_place) returned after its deadline: its
    caller was told at the deadline, and this answer is dropped."""


class GuestError(TuivirtError):
    """The daemon said no: carries the host, the guest and the daemon's own message."""

    def __init__(self, host: str, guest: str | None, message: str, *,
                 missing: bool = False) -> None:
        self.host = host
        self.guest = guest
        self.missing = missing  # the daemon says no such domain / network (any more)
        target = f"{host}/{guest}" if guest else f"host {host}"
        super().__init__(message, f"{target}: {message}")


class ReadOnlyError(GuestError):
    """A change was asked of a host marked read-only; `what` says which change."""

    def __init__(self, host: str, guest: str | None, what: str) -> None:
        super().__init__(host, guest, read_only_refusal(host, what))


class ConsoleBusy(GuestError):
    """Another client holds the console; `force` may take it over."""


class DefinitionChanged(GuestError):
    """The host's definition is no longer the one an edit started from: nothing written.

    `current` is the definition the host has now ("" when it was undefined meanwhile).
    """

    def __init__(self, host: str, name: str, current: str) -> None:
        self.current = current
        what = ("was undefined" if not current else "was changed")
        super().__init__(host, name, f"the definition {what} on {host} since the editor "
                         "opened it: nothing was written")


class ActionTimedOut(GuestError):
    """An action got no answer within the host's timeout; it may still take effect.

    `pending` (a backends.deadline.Pending) says when and how it ended, if it does.
    """

    def __init__(self, host: str, guest: str, action: str, timeout: float,
                 pending: object) -> None:
        self.action = action
        self.timeout = timeout
        self.pending = pending
        super().__init__(host, guest, f"{action}: no answer after {timeout:g} s (the daemon "
                         "may be hung); it may still take effect")
