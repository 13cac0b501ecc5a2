"""How an app takes the fleet's news: inventory diffs posted from session threads,
handled on the UI thread as `InventoryChanged` (where the app republishes them on its
`fleet_changed` Signal).

A storm of news is taken in batches: a change alone shows at once, but while news keeps
coming (100 SSH hosts connecting: ~400 diffs in 3 s) the UI thread takes what arrived
at most every NEWS_EVERY seconds, merged into one diff. One diff per message made it
lay out, count and repaint the table and the host panel ~30 times a second, holding
the GIL the connecting sessions needed: the rows of 100 hosts took twice as long to
come as `tuivirt list` takes.

Sampled figures alone (CPU %, memory: a 100-host fleet samples ~7 guests a second) wait
up to MEASURED_EVERY, so they cost the UI one repaint a second, not one each. Any other
news takes everything waiting with it, in order: a guest's state never lags behind."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from textual.message import Message

from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import Guest
from tuivirt.ui.messages import InventoryChanged

if TYPE_CHECKING:
    from textual.app import App

    from tuivirt.session import Fleet

#: The least time between two batches of fleet news on the UI thread (seconds).
NEWS_EVERY = 0.1
#: ... when all that waits is sampled figures.
MEASURED_EVERY = 1.0


class NewsWaiting(Message):
    """Posted from a session thread when the first diff of a batch is waiting."""


def merged(diffs: Iterable[Diff]) -> Diff:
    """Diffs in order as one: each guest's last word (added or changed: its latest record;
    removed), every host status in order (a host lost then back is said lost, then
    back), networks once each."""
    guests: dict[str, tuple[str, Guest | None]] = {}
    hosts: list[HostStatus] = []
    networks: dict[str, None] = {}
    for diff in diffs:
        for guest in diff.added:
            guests.pop(guest.key, None)
            guests[guest.key] = ("added", guest)
        for guest in diff.changed:
            was = guests.pop(guest.key, None)
            guests[guest.key] = ("added" if was is not None and was[0] == "added"
                                 else "changed", guest)
        for key in diff.removed:
            guests.pop(key, None)
            guests[key] = ("removed", None)
        hosts.extend(diff.hosts)
        networks.update(dict.fromkeys(diff.networks))
    return Diff(added=tuple(g for how, g in guests.values() if how == "added" and g),
                changed=tuple(g for how, g in guests.values() if how == "changed" and g),
                removed=tuple(k for k, (how, _g) in guests.items() if how == "removed"),
                hosts=tuple(hosts), networks=tuple(networks))


class FleetNews:
    """Mixed into an app with a `fleet`: `follow_fleet_news()` on mount, `stop_fleet_news()`
    on unmount."""

    fleet: Fleet
    _unsubscribe_news: Callable[[], None] | None = None
    _news: list[Diff]
    _news_lock: threading.Lock
    _news_urgent = False  # something other than sampled figures waits
    _news_taken = 0.0  # monotonic time of the last batch taken
    _news_due_at: float | None = None  # when the batch scheduled is taken

    def follow_fleet_news(self) -> None:
        app: App[int] = self  # type: ignore[assignment]
        self._news = []
        self._news_lock = threading.Lock()

        def forward(diff: Diff) -> None:  # on session threads: queue, post, nothing more
            with self._news_lock:
                self._news.append(diff)
                first = len(self._news) == 1
                hurry = not diff.measured and not self._news_urgent
                if not diff.measured:
                    self._news_urgent = True
                if not (first or hurry):
                    return  # the batch this joins is announced already
            with contextlib.suppress(RuntimeError):  # the app's loop closed under us
                app.post_message(NewsWaiting())

        self._unsubscribe_news = self.fleet.inventory.subscribe(forward)

    def on_news_waiting(self, _message: NewsWaiting) -> None:
        with self._news_lock:
            every = NEWS_EVERY if self._news_urgent else MEASURED_EVERY
        due = max(time.monotonic(), self._news_taken + every)
        if self._news_due_at is not None and self._news_due_at <= due:
            return  # taken soon enough already
        self._news_due_at = due
        wait = due - time.monotonic()
        if wait > 0:
            app: App[int] = self  # type: ignore[assignment]
            app.set_timer(wait, self._take_news)
        else:
            self._take_news()

    def _take_news(self) -> None:
        now = time.monotonic()
        if self._news_due_at is not None and self._news_due_at > now + 0.001:
            return  # an earlier timer, overtaken by a later plan (nothing is lost)
        self._news_due_at = None
        self._news_taken = now
        with self._news_lock:
            diffs, self._news = self._news, []
            self._news_urgent = False
        if diffs:
            app: App[int] = self  # type: ignore[assignment]
            app.post_message(InventoryChanged(diffs[0] if len(diffs) == 1
                                              else merged(diffs)))

    def stop_fleet_news(self) -> None:
        if self._unsubscribe_news is not None:
            self._unsubscribe_news()
            self._unsubscribe_news = None
