"""How an app takes the fleet's news: inventory diffs posted from session threads as
`InventoryChanged`, handled on the UI thread (where the app republishes them on its
`fleet_changed` Signal)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from tuivirt.inventory import Diff
from tuivirt.ui.messages import InventoryChanged

if TYPE_CHECKING:
    from textual.app import App

    from tuivirt.session import Fleet


class FleetNews:
    """Mixed into an app with a `fleet`: `follow_fleet_news()` on mount, `stop_fleet_news()`
    on unmount."""

    fleet: Fleet
    _unsubscribe_news: Callable[[], None] | None = None

    def follow_fleet_news(self) -> None:
        app: App[int] = self  # type: ignore[assignment]

        def forward(diff: Diff) -> None:  # on session threads: post, nothing more
            with contextlib.suppress(RuntimeError):  # the app's loop closed under us
                app.post_message(InventoryChanged(diff))

        self._unsubscribe_news = self.fleet.inventory.subscribe(forward)

    def stop_fleet_news(self) -> None:
        if self._unsubscribe_news is not None:
            self._unsubscribe_news()
            self._unsubscribe_news = None
