"""Consoles in tabs below a screen's table: open (c), zoom, search, save, reconnect,
close, resize, and ctrl+] back to the table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual.actions import SkipAction

from tuivirt import paths
from tuivirt.model import Guest
from tuivirt.ui.common.fleet_screen import FleetScreen

if TYPE_CHECKING:
    from textual.widgets import TabbedContent

    from tuivirt.ui.console.pane import ConsolePane

# The pane, the terminal and pyte are imported with the first console, not at startup.


class ConsoleDock(FleetScreen):
    """For a screen with a `#body` row (the tabs go below it), a table (`home()`,
    `current_guest()`) and the app's `fleet`."""

    _console_serial = 0

    def current_guest(self) -> Guest | None:
        raise NotImplementedError

    def consoles(self) -> list[ConsolePane]:
        from tuivirt.ui.console.pane import ConsolePane

        return list(self.query(ConsolePane))

    def console_tabs(self) -> TabbedContent | None:
        """The console tabs below the table (made with the first console, not at start)."""
        from textual.widgets import TabbedContent

        found = self.query("#consoles")
        if not found:
            return None
        tabs = found.first()
        assert isinstance(tabs, TabbedContent)
        return tabs

    def active_console(self) -> ConsolePane | None:
        from tuivirt.ui.console.pane import ConsolePane

        tabs = self.console_tabs()
        if tabs is None or not tabs.display or not tabs.active:
            return None
        found = tabs.get_pane(tabs.active).query(ConsolePane)
        return found.first() if found else None

    async def action_console(self) -> None:
        """`c`: the guest's console in a tab below the table (or back to its tab).

        A priority binding, skipped unless the table has focus: a plain one runs while
        the keys typed behind `c` are already on their way to the table, where s, r,
        D... are actions on the guest under the cursor.
        """
        if self.focused is not self.home():
            raise SkipAction()
        from textual.content import Content
        from textual.widgets import TabbedContent, TabPane

        from tuivirt.text import inert
        from tuivirt.ui.console.pane import ConsolePane

        guest = self.current_guest()
        if guest is None:
            self.notify("no guest under the cursor", severity="warning")
            return
        tabs = self.console_tabs()
        for pane in self.consoles():
            if pane.guest.key == guest.key:
                tab = pane.parent
                if tabs is not None and isinstance(tab, TabPane) and tab.id:
                    tabs.active = tab.id
                self.set_focus(pane.terminal)  # now: keys typed behind `c` are the guest's
                return
        address = self.fleet.inventory.addresses([guest])[guest.key]
        self._console_serial += 1
        tab_id = f"con-{self._console_serial}"
        pane = ConsolePane(self.fleet, guest, address)
        if tabs is None:
            tabs = TabbedContent(id="consoles")
            await self.mount(tabs, after=self.query_one("#body"))
        await tabs.add_pane(TabPane(Content(inert(address)), pane, id=tab_id))  # not markup
        tabs.active = tab_id
        self.set_focus(pane.terminal)  # now: Widget.focus() would let the table have the
        # keys typed behind `c` (s, r, D... are actions there); they are the guest's

    def on_console_pane_leave(self) -> None:
        self.give_table_back()

    def give_table_back(self) -> None:
        """ctrl+] from a console: the table has the keys, and is shown if maximised away."""
        if self.maximized is not None:
            self.minimize()
        self.set_focus(self.home())  # now: Widget.focus() would defer it

    def _with_console(self, what: str) -> ConsolePane | None:
        pane = self.active_console()
        if pane is None:
            self.notify(f"no console open to {what}: `c` opens one", severity="warning")
        return pane

    def action_console_zoom(self) -> None:
        pane = self._with_console("maximise")
        if pane is None:
            return
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(pane, container=False)
            pane.terminal.focus()

    def action_console_search(self) -> None:
        pane = self._with_console("search")
        if pane is not None:
            pane.start_search()

    def action_console_save(self) -> None:
        from tuivirt.ui.common.dialogs import Field, FormScreen

        pane = self._with_console("save")
        if pane is None:
            return
        default = str(paths.state_dir() / "consoles" / (
            f"{pane.guest.host}-{paths.safe_name(pane.guest.name)}-"
            f"{time.strftime('%Y%m%dT%H%M%S')}.log"))

        def chosen(values: dict[str, str] | None) -> None:
            if values and values.get("path"):
                path = Path(values["path"]).expanduser()
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    self.notify(f"cannot save to {path}: {exc.strerror or exc}",
                                severity="error")
                    return
                pane.save_scrollback(str(path))

        self.app.push_screen(FormScreen(f"Save the scrollback of {pane.address}",
                                        [Field("path", "File", default)], ok_label="Save"),
                             chosen)

    def action_console_reconnect(self) -> None:
        pane = self._with_console("reconnect")
        if pane is not None:
            pane.take_over()

    def action_console_close(self) -> None:
        pane = self._with_console("close")
        if pane is None:
            return
        pane.close()
        tabs = self.console_tabs()
        assert tabs is not None
        if len(self.consoles()) == 1:
            tabs.remove()  # the last one: the table gets the whole height back
        elif pane.parent is not None and pane.parent.id:
            tabs.remove_pane(pane.parent.id)
        self.home().focus()

    def action_console_size(self, step: int) -> None:
        tabs = self.console_tabs()
        if tabs is None or not tabs.display:
            return
        height = tabs.outer_size.height + step  # its border too: 4 rows a press, not 3
        tabs.styles.height = max(6, min(self.size.height - 6, height))
