"""How an app takes the fleet's news: inventory diffs posted from session threads,
handled on the UI thread as `InventoryChanged` (where the app republishes them on its
`fleet_changed` Signal).

A storm of news is taken in batches: a change alone shows at once, but while news keeps
coming (100 SSH hosts connecting: ~400 diffs in 3 s) the UI thread takes what arrived
at most every NEWS_EVERY seconds, merged into one diff. One diff per message made it
lay out, count and repaint the table and the host panel ~30 times a second, holding
the GIL the connecting sessions needed: the rows of 100 hosts took twice as long to
come as `tuivirt list` takes. Once STORM_AFTER batches in a row were storm-sized (at
least STORM_NEWS diffs other than sampled figures, the first of them arriving while
the batch before held it back), the storm is taken every STORM_EVERY seconds until a
batch is not: at 100 SSH hosts the UI thread then paints ~12 frames while they
connect instead of ~45, and its ~0.2 s of CPU less go to the handshakes. A user's
actions (a few diffs each) never count as a storm: a toggle key reads the row's
state, which must not lag; a change after a pause shows at once.

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
#: ... in a storm: each of the last STORM_AFTER batches held STORM_NEWS diffs or more
#: (sampled figures not counted), arriving within the interval after the batch before
#: (100 SSH hosts connecting: ~13 a batch). Its frames are what a storm costs the UI
#: thread; 4 a second still show the rows coming.
STORM_EVERY = 0.25
STORM_AFTER = 2
STORM_NEWS = 8


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
    _news_urgent_at = 0.0  # monotonic time the batch's first news (not figures) arrived
    _news_storm = 0  # storm-sized batches in a row

    def follow_fleet_news(self) -> None:
        app: App[int] = self  # type: ignore[assignment]
        self._news = []
        self._news_lock = threading.Lock()

        def forward(diff: Diff) -> None:  # on session threads: queue, post, nothing more
            with self._news_lock:
                self._news.append(diff)
                first = len(self._news) == 1
                hurry = not diff.measured and not self._news_urgent
                if hurry:
                    self._news_urgent = True
                    self._news_urgent_at = time.monotonic()
                if not (first or hurry):
                    return  # the batch this joins is announced already
            with contextlib.suppress(RuntimeError):  # the app's loop closed under us
                app.post_message(NewsWaiting())

        self._unsubscribe_news = self.fleet.inventory.subscribe(forward)

    def _news_every(self, urgent: bool) -> float:
        """The least time from the last batch to the next."""
        if not urgent:
            return MEASURED_EVERY
        return STORM_EVERY if self._news_storm >= STORM_AFTER else NEWS_EVERY

    def on_news_waiting(self, _message: NewsWaiting) -> None:
        with self._news_lock:
            every = self._news_every(self._news_urgent)
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
        with self._news_lock:
            if not self._news:
                # Nothing waits (an action's news_now, a timer after it): no batch. It
                # must not end a storm, nor hold the next change back an interval.
                return
            diffs, self._news = self._news, []
            urgent, self._news_urgent = self._news_urgent, False
            # Held back: its first news came within the interval after the last batch.
            held = urgent and self._news_urgent_at < self._news_taken + self._news_every(True)
        # Sampled figures do not count: a big fleet's pile up while news waits its turn.
        storm = held and sum(not d.measured for d in diffs) >= STORM_NEWS
        self._news_storm = self._news_storm + 1 if storm else 0
        self._news_taken = now
        app: App[int] = self  # type: ignore[assignment]
        app.post_message(InventoryChanged(diffs[0] if len(diffs) == 1 else merged(diffs)))

    def news_now(self) -> None:
        """Take what waits now, whatever the interval (posted, so it keeps its place
        behind batches already posted). For what must show before the next message: an
        action's outcome, after which a toggle key reads the row's new state."""
        self._news_due_at = None
        self._take_news()

    def stop_fleet_news(self) -> None:
        if self._unsubscribe_news is not None:
            self._unsubscribe_news()
            self._unsubscribe_news = None
