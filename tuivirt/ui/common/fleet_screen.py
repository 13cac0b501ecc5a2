"""The base of screens that show the fleet's guests or networks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from textual.widget import Widget

    from tuivirt.session import Fleet


class FleetScreen(Screen[None]):
    """A screen of the full app: the app provides `fleet`; the screen says which widget
    is its home (where focus returns from a pane: its table)."""

    @property
    def fleet(self) -> Fleet:
        fleet: Fleet = self.app.fleet  # type: ignore[attr-defined]
        return fleet

    def home(self) -> Widget:
        raise NotImplementedError
