"""The base of screens that show the fleet's guests, networks or storage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from tuivirt.inventory import Diff

if TYPE_CHECKING:
    from textual.widget import Widget

    from tuivirt.config import Config
    from tuivirt.session import Fleet


class FleetScreen(Screen[None]):
    """A screen of the full app: the app provides `fleet`, the screen its `config` and
    which widget is its home (where focus returns from a pane: its table).

    A screen that lists what hosts hold calls `follow_fleet()` once mounted: it then
    reloads (`action_reload`) once for a burst of news that `news_matters`.
    """

    config: Config
    _reload_pending = False

    @property
    def fleet(self) -> Fleet:
        fleet: Fleet = self.app.fleet  # type: ignore[attr-defined]
        return fleet

    def read_only(self, host: str) -> bool:
        """Unknown hosts count as read-only: refusing is the safe answer."""
        try:
            return self.config.host(host).read_only
        except KeyError:
            return True

    def host_label(self, host: str) -> str:
        """The host's colour label from the config ("" for none, or an unknown host)."""
        try:
            return self.config.host(host).label or ""
        except KeyError:
            return ""

    def home(self) -> Widget:
        raise NotImplementedError

    # -- reloading on the fleet's news ----------------------------------------------------
    def follow_fleet(self) -> None:
        fleet_changed = getattr(self.app, "fleet_changed", None)
        if fleet_changed is not None:  # the full-screen app's one stream of news
            fleet_changed.subscribe(self, self._fleet_changed)

    def news_matters(self, diff: Diff) -> bool:
        """By default: a host connected or was lost (what it holds appears or goes)."""
        return any(s.state != "connecting" for s in diff.hosts)

    def _fleet_changed(self, diff: Diff) -> None:
        if self.news_matters(diff) and not self._reload_pending:
            self._reload_pending = True
            self.set_timer(0.1, self._reload_now)  # one reload for a burst of news

    def _reload_now(self) -> None:
        self._reload_pending = False
        self.action_reload()

    def action_reload(self) -> None:
        raise NotImplementedError
