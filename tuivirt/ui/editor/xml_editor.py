"""The inline XML editor: a pane beside the table for one domain or network definition.

The buffer is never lost: it is checked as it is typed, saved as a draft in the XDG state
dir, and left exactly as it was when an apply fails. Applying always goes through a diff
and the host's current definition is compared with the one the buffer started from, so a
concurrent change is shown, not overwritten.

This module holds the pane as the user drives it (its keys, live XML, find, backups,
$EDITOR, close); the layers under it are listed in `buffer`.
"""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.document._document import Document
from textual.message import Message
from textual.widgets import Input, TextArea
from textual.widgets.text_area import Selection

from tuivirt import backups, xmltools
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.console.terminal import OwnsQuitKey
from tuivirt.ui.editor.apply import ApplyFlow
from tuivirt.ui.editor.area import displayable
from tuivirt.ui.editor.draft_keeping import DRAFT_AFTER
from tuivirt.ui.editor.external import edit_externally

__all__ = ["DRAFT_AFTER", "EditorPane"]


class EditorPane(ApplyFlow, OwnsQuitKey):
    """Edits one definition (or shows a read-only document, e.g. docker inspect JSON)."""

    BINDINGS = [
        Binding("ctrl+s", "apply", "Apply"),
        Binding("ctrl+t", "diff", "Diff"),
        Binding("ctrl+l", "live", "Live XML"),
        Binding("ctrl+f", "find", "Find"),
        Binding("ctrl+g", "goto_problem", "Go to error", show=False),
        Binding("ctrl+r", "history", "Backups"),
        Binding("ctrl+o", "external", "$EDITOR", show=False),
        Binding("f2", "maximize", "Maximise", show=False),
        Binding("escape", "leave", "Back to table"),
        Binding("ctrl+q", "close", "Close editor"),
    ]
    DEFAULT_CSS = """
    EditorPane { width: 1fr; min-width: 40; border-left: tall $primary; }
    EditorPane #ed-header { height: 1; padding: 0 1; background: $primary 30%; }
    EditorPane #ed-note { height: auto; max-height: 8; padding: 0 1; color: $warning; }
    EditorPane XMLArea, EditorPane #ed-live { height: 1fr; border: none; }
    EditorPane #ed-search { height: 1; border: none; padding: 0 1; background: $panel; }
    EditorPane #ed-problem { height: auto; max-height: 6; padding: 0 1; background: $panel; }
    EditorPane #ed-problem.-error { color: $error; text-style: bold; }
    EditorPane #ed-problem.-ok { color: $success; }
    """

    class Closed(Message):
        """The user closed the pane (its draft kept or discarded as they chose)."""

        def __init__(self, pane: EditorPane) -> None:
            super().__init__()
            self.pane = pane

    class Left(Message):
        """The user went back to the table; the pane stays open."""

    # -- live XML, search, history, $EDITOR ---------------------------------------------------
    def action_live(self) -> None:
        if self.ref is None or self.ref.kind != "domain" or self.new:
            self.notify("no live XML for this view", severity="warning")
            return
        area, live = self.area, self.query_one("#ed-live", TextArea)
        if self.showing_live:
            self.showing_live = False
            live.display, area.display = False, True
            area.focus()
            self.update_header()
            return
        ref, fleet = self.ref, self.fleet
        assert fleet is not None

        def fetch() -> str:
            return fleet.session(ref.host).definition(ref, live=True)

        def show(xml: str) -> None:
            problem = xmltools.size_problem(xmltools.text_size(xml), "the live XML")
            if problem is not None:
                self.notify(f"not shown: {problem}", severity="error", timeout=8)
                return
            live.load_text(displayable(xml))
            self.showing_live = True
            area.display, live.display = False, True
            live.focus()
            self.update_header()

        self.in_thread(fetch, show, what=f"live XML of {ref.address}", group="live")

    def action_find(self) -> None:
        search = self.query_one("#ed-search", Input)
        search.display = True
        search.focus()

    @on(Input.Submitted, "#ed-search")
    def find_next(self, event: Input.Submitted) -> None:
        event.stop()
        needle = event.value
        if not needle:
            return
        area = self.area if not self.showing_live else self.query_one("#ed-live", TextArea)
        text = area.text
        doc = area.document
        assert isinstance(doc, Document)
        start = doc.get_index_from_location(area.selection.end)
        index = text.lower().find(needle.lower(), start)
        wrapped = index < 0
        if wrapped:
            index = text.lower().find(needle.lower())
        if index < 0:
            self.notify(f"not found: {needle}", severity="warning", timeout=3)
            return
        area.selection = Selection(doc.get_location_from_index(index),
                                   doc.get_location_from_index(index + len(needle)))
        area.scroll_cursor_visible(center=True)
        if wrapped:
            self.notify("search wrapped to the top", timeout=2)

    def action_leave(self) -> None:
        search = self.query_one("#ed-search", Input)
        if search.has_focus:
            search.display = False
            self.area.focus()
            return
        self.post_message(self.Left())

    def action_history(self) -> None:
        if self.ref is None or self.new:
            self.notify("no backups for this view", severity="warning")
            return
        found = list(reversed(backups.history(self.ref.host, self.ref.name, self.ref.kind)))
        if not found:
            self.notify(f"no backups of {self.ref.address} yet (one is kept before "
                        "every define)", timeout=5)
            return
        buffer = self.area.text
        choices = []
        for number, backup in enumerate(found):
            try:
                # The size first: a huge file is neither read nor offered as loadable.
                problem = xmltools.size_problem(backup.path.stat().st_size, "it")
                if problem is not None:
                    choices.append((str(number), f"{backup.label}  not loadable: "
                                    f"{problem}  {backup.path.name}"))
                    continue
                old = backup.path.read_text(encoding="utf-8")
            except OSError as exc:
                choices.append((str(number), f"{backup.label}  unreadable: {exc}"))
                continue
            changed = xmltools.changed_lines(buffer, old)
            choices.append((str(number), f"{backup.label}  ({changed} lines differ from "
                            f"the buffer)  {backup.path.name}"))

        def chosen(key: str | None) -> None:
            if key is None:
                return
            path = found[int(key)].path
            try:
                problem = xmltools.size_problem(path.stat().st_size, f"backup {path}")
                if problem is not None:
                    self.notify(f"not loaded: {problem}; the buffer is unchanged",
                                severity="error", timeout=10)
                    return
                old = path.read_text(encoding="utf-8")
            except OSError as exc:
                self.notify(f"cannot read {path}: {exc}", severity="error")
                return
            area = self.area
            # An edit, not a load: ctrl+z brings the buffer back.
            area.replace(displayable(old), (0, 0), area.document.end)
            self.notify(f"backup {found[int(key)].label} is in the buffer: ctrl+s shows "
                        "the diff before it is defined; ctrl+z undoes", timeout=8)

        self.app.push_screen(ChoiceScreen(f"Backups of {self.ref.address}, newest first",
                                          choices, note="Choosing one loads it into the "
                                          "buffer; nothing is defined until you apply."),
                             chosen)

    def action_external(self) -> None:
        if self.read_only:
            self.notify("read-only: nothing to edit", severity="warning")
            return
        edited = edit_externally(self.app, self.area.text)
        if edited is None:
            return
        edited = displayable(edited)
        if edited != self.area.text:
            self.area.replace(edited, (0, 0), self.area.document.end)

    def action_maximize(self) -> None:
        if self.screen.maximized is self:
            self.screen.minimize()
        else:
            self.screen.maximize(self, container=False)

    def action_close(self) -> None:
        if self.applying:
            self.notify("an apply is running: wait for its outcome", severity="warning")
            return
        if not self.modified or self.ref is None:
            self._discard_and_close()
            return

        def chosen(key: str | None) -> None:
            if key == "keep":
                self.save_draft_now()
                self._draft_dirty = False
                self.notify("draft kept: it is offered when you open "
                            f"{self.ref.address if self.ref else 'it'} again", timeout=6)
                self.post_message(self.Closed(self))
            elif key == "discard":
                self._discard_and_close()

        self.app.push_screen(ChoiceScreen(
            f"{self.title_text} has changes that are not applied",
            [("keep", "Close and keep the draft (offered when you open it again)"),
             ("discard", "Close and discard the changes"),
             ("back", "Back to the editor")]), chosen)

    def _discard_and_close(self) -> None:
        self._draft_dirty = False
        if self.ref is not None and not self.read_only:
            self._write_draft_in_order(None, self.ref)
            self._discard_loaded()
        self.post_message(self.Closed(self))
