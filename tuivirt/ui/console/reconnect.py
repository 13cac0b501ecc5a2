"""When a console that is not connected opens again: on the session's news, not a poll."""

from __future__ import annotations

import time

#: s from a console's end to asking the session whether its guest still runs: the
#: daemon's event (stopped, host lost) comes first.
AFTER_END = 1.0
MAX_BACKOFF = 30.0


class Reconnect:
    """A console pane's reconnecting, as decisions (no Textual, no daemon asked):

    - its console ended: look again after AFTER_END s;
    - an open failed: again after 1, 2, 4... 30 s while the guest runs (a cause that
      lasts, such as no serial device, is asked less and less often);
    - the session says what the console waits for (the guest shut off, its host or
      endpoint down, the guest gone): nothing until news says it can open, then at once.
    """

    def __init__(self) -> None:
        self.failures = 0  # opens in a row that failed
        self.next_try = 0.0  # monotonic time before which a failed open is not retried
        self.ended = ""  # why the console last ended or failed to open
        self.waiting = ""  # what the session said the console waits for ("": nothing)

    def connected(self) -> None:
        self.failures, self.waiting = 0, ""

    def asked(self) -> None:
        """The user asks (F5): now, whatever the backoff."""
        self.failures, self.next_try = 0, 0.0

    def console_ended(self, reason: str) -> float:
        """When to look again: not before the daemon's event, unless news comes first."""
        self.ended = reason
        self.next_try = time.monotonic() + AFTER_END
        return self.next_try

    def open_failed(self, reason: str) -> float:
        """When to look again (the backoff)."""
        self.failures += 1
        self.ended = reason
        self.next_try = time.monotonic() + min(MAX_BACKOFF, 2.0 ** (self.failures - 1))
        return self.next_try

    def outlook(self, why: str, gone: bool) -> tuple[float | None, str]:
        """The session's word on the console (`why` it cannot open; "": it can) ->
        (when to open: 0 for now, or the backoff's time; None: wait for news), and what
        to show while waiting."""
        if not why:
            came_back, self.waiting = bool(self.waiting), ""
            return (0.0 if came_back else self.next_try), ""
        self.waiting = why
        if gone:
            note = why
        elif why.startswith("the guest is"):
            note = f"{why}: reconnecting when it runs"
        else:
            note = f"{why}: reconnecting when it is back"
        if self.ended and self.ended not in note:
            note = f"{self.ended}; {note}"
        return None, note
