"""libvirt's event loop: one per process, run in a daemon thread.

Domain and network events, keepalive, the close callback and console streams all live
on it; callbacks there only hand off.
"""

from __future__ import annotations

import threading

import libvirt

_loop_lock = threading.Lock()
_loop_thread: threading.Thread | None = None


def _ignore_error(_ctx: object, _err: object) -> None:
    """libvirt prints every error on stderr by default; ours go through GuestError."""


libvirt.registerErrorHandler(_ignore_error, None)


def ensure_event_loop() -> None:
    """Register libvirt's default event loop once per process and run it in a daemon thread.

    Needed for domain events, keepalive and console streams. Must run before the first
    connection that wants events is opened.
    """
    global _loop_thread
    with _loop_lock:
        if _loop_thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                libvirt.virEventRunDefaultImpl()

        _loop_thread = threading.Thread(target=run, name="libvirt-events", daemon=True)
        _loop_thread.start()


def event_loop_running() -> bool:
    """Whether this process runs libvirt's event loop (consoles and close callbacks)."""
    return _loop_thread is not None
