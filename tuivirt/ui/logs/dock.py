"""`l` on a row: the guest's log in a pane beside the table (one at a time)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual.containers import Horizontal

from tuivirt import paths
from tuivirt.model import Guest
from tuivirt.ui.common.fleet_screen import FleetScreen

if TYPE_CHECKING:
    from textual.widget import Widget

    from tuivirt.ui.logs.pane import LogPane

# The pane is imported with the first log opened, not at startup.


class LogDock(FleetScreen):
    """For a screen with a `#body` row holding its table (`home()`, `current_guest()`)."""

    def current_guest(self) -> Guest | None:
        raise NotImplementedError

    def home(self) -> Widget:
        raise NotImplementedError

    @property
    def log_pane(self) -> LogPane | None:
        from tuivirt.ui.logs.pane import LogPane

        found = self.query(LogPane)
        return found.first() if found else None

    def action_logs(self) -> None:
        from tuivirt.ui.logs.pane import LogPane

        guest = self.current_guest()
        if guest is None:
            self.notify("no guest under the cursor", severity="warning")
            return
        old = self.log_pane
        if old is not None and old.guest.key == guest.key:
            old.view.focus()
            return
        if old is not None:
            old.remove()
        address = self.fleet.inventory.addresses([guest])[guest.key]
        pane = LogPane(self.fleet, guest, address)
        self.query_one("#body", Horizontal).mount(pane)
        self.call_after_refresh(lambda: pane.view.focus())

    def on_log_pane_leave(self) -> None:
        self.home().focus()

    def on_log_pane_closed(self, message: LogPane.Closed) -> None:
        message.pane.remove()
        self.home().focus()

    def on_log_pane_save_asked(self, message: LogPane.SaveAsked) -> None:
        """f4 in the pane: where to (asked like the console's save)."""
        from tuivirt.ui.common.dialogs import Field, FormScreen

        pane = message.pane
        default = str(paths.state_dir() / "logs" / (
            f"{pane.guest.host}-{paths.safe_name(pane.guest.name)}-"
            f"{time.strftime('%Y%m%dT%H%M%S')}.log"))

        def chosen(values: dict[str, str] | None) -> None:
            if not values or not values.get("path"):
                return
            path = Path(values["path"]).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                count = pane.save(str(path))
            except OSError as exc:
                self.notify(f"cannot save to {path}: {exc.strerror or exc}",
                            severity="error")
                return
            self.notify(f"{pane.address}: {count} lines saved to {path}", timeout=6)

        self.app.push_screen(FormScreen(f"Save the log of {pane.address}",
                                        [Field("path", "File", default)], ok_label="Save"),
                             chosen)
