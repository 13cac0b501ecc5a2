"""The editor pane's base: its state, layout, header and outcome line, and the XML
checked as it is typed.

The pane is built in layers, each a module, each adding one responsibility:
this one; `draft_keeping` (the buffer saved as a draft as it is typed); `apply` (diff,
apply, a concurrent change shown); `xml_editor.EditorPane` (keys, live XML, find,
backups, $EDITOR, close). Textual runs a handler of every layer (on_mount,
TextArea.Changed), subclass first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Static, TextArea

from tuivirt import drafts
from tuivirt.model import Applied, DefinitionRef
from tuivirt.text import inert, inert_lines
from tuivirt.ui.common.workers import ThreadJobs
from tuivirt.ui.editor.area import XMLArea, displayable
from tuivirt.xmltools import XMLProblem, check_well_formed

if TYPE_CHECKING:
    from tuivirt.session import Fleet

VALIDATE_AFTER = 0.15  # s of quiet typing before the buffer is parsed again


class EditorBuffer(Vertical, ThreadJobs):
    """One definition's buffer (or a read-only document): what every layer works on."""

    def __init__(self, fleet: Fleet | None, *, ref: DefinitionRef | None, base: str,
                 text: str, new: bool = False, read_only: bool = False, note: str = "",
                 language: str = "xml", title: str = "",
                 loaded: tuple[drafts.Draft, ...] = (), draft_id: str = "",
                 define: Callable[[str], Applied] | None = None,
                 define_note: str = "") -> None:
        super().__init__()
        self.fleet = fleet
        self.ref = ref
        self.base = base  # the definition the buffer started from ("" for a new one)
        self.initial_text = displayable(text)
        self.new = new
        # A new definition's own way to be defined (run on a thread with the buffer's
        # text; a new guest makes its volume and starts it), and what the confirmation
        # says it does. None: apply_definition.
        self.define = define
        self.define_note = define_note
        self.read_only = read_only or ref is None
        self.note = note
        self.language = language
        self.title_text = title or (ref.address if ref else "")
        self.problem: XMLProblem | None = None
        self.failure: str | None = None  # the daemon's last refusal, verbatim
        self.applying = False
        self.showing_live = False
        self.draft_state = ""
        self._validate_timer: Timer | None = None
        self._draft_timer: Timer | None = None
        self._draft_dirty = False
        self._draft_lock = threading.Lock()
        self._draft_seq = 0  # writes asked for
        self._draft_done = 0  # the newest write done
        # This pane's own draft file: a new one, or the draft it was opened from when
        # no other editor holds that one (see EditorHost). Never another pane's.
        self.draft_id = draft_id or drafts.new_instance()
        # The drafts the buffer was opened from (maybe another instance's): removed with
        # this pane's own draft when the buffer is applied or discarded, not before.
        self.loaded = tuple(d for d in loaded if d.instance != self.draft_id)

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        # Header, note and problem line quote names, paths and daemon errors: inert.
        yield Static(id="ed-header", markup=False)
        note = Static(inert_lines(self.note), id="ed-note", markup=False)
        note.display = bool(self.note)
        yield note
        # Only XML is highlighted: the JSON grammar crashes tree-sitter 0.26 (SIGSEGV).
        area = XMLArea.code_editor(self.initial_text,
                                   language="xml" if self.language == "xml" else None,
                                   read_only=self.read_only, soft_wrap=False,
                                   id="ed-area")
        assert isinstance(area, XMLArea)  # code_editor is a classmethod: cls(...)
        self._area = area  # kept: on_unmount runs after the children are gone
        yield area
        live = XMLArea.code_editor("", language="xml", read_only=True, id="ed-live")
        live.display = False
        yield live
        search = Input(placeholder="find: enter for the next match, esc to close",
                       id="ed-search")
        search.display = False
        yield search
        yield Static(id="ed-problem", markup=False)

    def on_mount(self) -> None:
        self.area.focus()
        self.validate()
        self.update_header()

    @property
    def area(self) -> XMLArea:
        return self._area

    @property
    def text(self) -> str:
        return self.area.text

    @property
    def modified(self) -> bool:
        return not self.read_only and (self.new or self.area.text != self.base)

    def update_header(self) -> None:
        if self.ref is None:
            what = "read-only"
        elif self.showing_live:
            what = "LIVE XML (read-only) · ctrl+l: back to the definition"
        else:
            what = f"new {self.ref.kind}" if self.new else f"{self.ref.kind} definition"
        parts = [f"✎ {self.title_text}", what]
        if self.read_only and self.ref is not None:
            parts.append("read-only host")
        if self.modified and not self.showing_live:
            parts.append("modified")
        if self.applying:
            parts.append("applying…")
        if self.draft_state:
            parts.append(self.draft_state)
        self.query_one("#ed-header", Static).update(inert(" · ".join(parts)))

    # -- checking as you type ------------------------------------------------------------
    @on(TextArea.Changed, "#ed-area")
    def buffer_changed(self, _event: TextArea.Changed) -> None:
        if self._validate_timer is not None:
            self._validate_timer.stop()
        self._validate_timer = self.set_timer(VALIDATE_AFTER, self.validate)
        self.update_header()

    def validate(self) -> None:
        """Well-formedness now; the daemon's refusal stays shown until the next apply."""
        area = self.area
        label = self.query_one("#ed-problem", Static)
        if self.language != "xml":
            label.update("read-only: nothing to check")
            return
        self.problem = check_well_formed(area.text)
        area.problem_line = self.problem.line - 1 if self.problem else None
        area.refresh()
        if self.problem is not None:
            label.update(inert_lines(f"✗ not well-formed: {self.problem}  (ctrl+g: go there)"))
            label.set_classes("-error")
        elif self.failure is not None:
            label.update(inert_lines(f"✗ last apply refused: {self.failure}"))
            label.set_classes("-error")
        else:
            label.update("✓ well-formed XML" if not self.read_only else "read-only")
            label.set_classes("-ok")

    def action_goto_problem(self) -> None:
        if self.problem is None:
            self.notify("the XML is well-formed", timeout=3)
            return
        self.area.move_cursor((self.problem.line - 1, max(0, self.problem.column - 1)))
        self.area.focus()
