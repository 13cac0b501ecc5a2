"""The key footer, recomposed only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer, minus the rebuilds that show the same keys again.

    Footer rebuilds all its key widgets (30-50 ms) on every bindings update: five times
    while the main screen starts, competing with the first rows for the one interpreter
    lock, and again whenever focus moves between the table and the filter box, though
    neither changes which keys are shown. Here updates queued in one refresh make one
    rebuild, and a rebuild that would show the same keys is skipped.
    """

    _shown: tuple[object, ...] | None = None
    _queued = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._queued:
            self._queued = True
            self.call_after_refresh(self._rebuild)

    def _keys_shown(self) -> tuple[object, ...]:
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple((key, active.binding, active.enabled, active.tooltip)
                     for key, active in self.screen.active_bindings.items()
                     if active.binding.show or key == palette)

    async def _rebuild(self) -> None:
        self._queued = False
        shown = self._keys_shown()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()
