"""The inline XML editor: a pane beside the table for one domain or network definition.

The buffer is never lost: it is checked as it is typed, saved as a draft in the XDG state
dir, and left exactly as it was when an apply fails. Applying always goes through a diff
and the host's current definition is compared with the one the buffer started from, so a
concurrent change is shown, not overwritten.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Vertical
from textual.document._document import Document
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Input, Static, TextArea
from textual.widgets.text_area import Selection

from tuivirt import backups, drafts, xmltools
from tuivirt.errors import DefinitionChanged, TuivirtError, read_only_refusal
from tuivirt.model import Applied, DefinitionRef
from tuivirt.text import in_place, inert, inert_lines
from tuivirt.ui.common.dialogs import ChoiceScreen, DiffScreen
from tuivirt.ui.console.terminal import OwnsQuitKey
from tuivirt.xmltools import XMLProblem, check_well_formed

if TYPE_CHECKING:
    from tuivirt.session import Fleet

VALIDATE_AFTER = 0.15  # s of quiet typing before the buffer is parsed again
DRAFT_AFTER = 1.0  # s of quiet typing before the draft is written
_PROBLEM_STYLE = Style(color="white", bgcolor="red", bold=True)
HELD_DRAFTS: set[str] = set()  # the draft ids of the panes open in this process


def displayable(text: str) -> str:
    """Lone surrogates (bytes that were not UTF-8, read with surrogateescape) as U+FFFD.

    Textual's document encodes its text as UTF-8 and raises on them; they can only come
    from outside (a file, $EDITOR's output), never from typing.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def _drawable(strip: Strip) -> Strip:
    """The line as drawn, its control, bidi and invisible characters each shown as one
    visible glyph (`␛`, `�`). XML 1.0 allows C1 controls (U+009B is CSI) and bidi
    overrides in text and attributes, and TextArea would write them to the terminal.
    Only the drawing changes: the buffer, cursor and selection keep the exact text
    (those characters count 0 cells there, so the line ends a cell earlier per glyph)."""
    segments = list(strip)
    if all(segment.text.isprintable() for segment in segments):
        return strip
    shown = [segment if segment.text.isprintable() else
             Segment(in_place(segment.text), segment.style, segment.control)
             for segment in segments]
    return Strip(shown).adjust_cell_length(strip.cell_length)


# The TextArea's own keys (cursor moves, selection, delete, undo...), by key.
_AREA_KEYS = BindingsMap(TextArea.BINDINGS).key_to_bindings


class XMLArea(TextArea):
    """A code TextArea whose gutter marks the line of the current XML problem, and whose
    keys take effect in the order they were typed."""

    problem_line: int | None = None  # 0-based

    def render_line(self, y: int) -> Strip:
        strip = _drawable(super().render_line(y))
        if self.problem_line is None or self.soft_wrap:
            return strip
        if self.scroll_offset.y + y != self.problem_line:
            return strip
        gutter = self.gutter_width or strip.cell_length
        return Strip.join([strip.crop(0, gutter).apply_style(_PROBLEM_STYLE),
                           strip.crop(gutter, strip.cell_length)])

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            return  # not "focus next": the pane's binding takes the user back to the table
        if self.read_only and event.is_printable:
            # Typed into a read-only view, a letter must not fall through to the table's
            # keys (r reboots, S shuts down... the guest under the cursor, maybe another).
            event.stop()
            event.prevent_default()
            return
        # Textual runs a widget's key bindings only once the key has bubbled up to the
        # app, one message queue per ancestor, while a letter is inserted here at once:
        # in a burst read in one go (`Down End Z`), Z landed before the cursor moved.
        # Our own bindings run here instead, in arrival order. The focused widget's
        # bindings come first in Textual's chain anyway, so which action runs is the
        # same; an action that declines (check_action) still bubbles as before.
        for binding in _AREA_KEYS.get(event.key, ()):
            if await self.app.run_action(binding.action, self):
                event.stop()
                event.prevent_default()
                return
        await super()._on_key(event)


class EditorPane(Vertical, OwnsQuitKey):
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

    def __init__(self, fleet: Fleet | None, *, ref: DefinitionRef | None, base: str,
                 text: str, new: bool = False, read_only: bool = False, note: str = "",
                 language: str = "xml", title: str = "",
                 loaded: tuple[drafts.Draft, ...] = (), draft_id: str = "") -> None:
        super().__init__()
        self.fleet = fleet
        self.ref = ref
        self.base = base  # the definition the buffer started from ("" for a new one)
        self.initial_text = displayable(text)
        self.new = new
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
        HELD_DRAFTS.add(self.draft_id)
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
        if self.ref is not None and not self.read_only:
            self._draft_dirty = True
            if self._draft_timer is not None:
                self._draft_timer.stop()
            self._draft_timer = self.set_timer(DRAFT_AFTER, self.save_draft_soon)
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

    # -- drafts ---------------------------------------------------------------------------
    def _draft(self) -> drafts.Draft | None:
        if self.ref is None or self.read_only:
            return None
        return drafts.Draft(host=self.ref.host, kind=self.ref.kind, name=self.ref.name,
                            text=self.area.text, base=self.base, saved_at=time.time(),
                            instance=self.draft_id)

    def save_draft_soon(self) -> None:
        draft = self._draft()
        if draft is None or not self._draft_dirty:
            return
        self._draft_dirty = False
        # A buffer back to the definition (undo, or just applied) needs no draft.
        self._draft_seq += 1
        self.run_worker(partial(self._write_draft, draft if self.modified else None,
                                self.ref, self._draft_seq), thread=True, group="draft",
                        exit_on_error=False)

    def _write_draft_in_order(self, draft: drafts.Draft | None, ref: DefinitionRef | None,
                              seq: int | None = None) -> str:
        """Save (or discard, draft None) unless a newer write already happened: the
        threads of two quick saves, or a save and a discard, may finish out of order."""
        if seq is None:
            self._draft_seq += 1
            seq = self._draft_seq
        with self._draft_lock:
            if seq < self._draft_done or ref is None:
                return self.draft_state
            self._draft_done = seq
            try:
                if draft is not None:
                    drafts.save(draft)
                else:
                    drafts.discard(ref.host, ref.kind, ref.name, self.draft_id)
            except OSError as exc:
                return f"draft NOT saved: {exc.strerror or exc}"
        return f"draft saved {time.strftime('%H:%M:%S')}" if draft is not None else ""

    def _write_draft(self, draft: drafts.Draft | None, ref: DefinitionRef | None,
                     seq: int) -> None:
        state = self._write_draft_in_order(draft, ref, seq)
        with contextlib.suppress(Exception):  # the app may be closing
            self.app.call_from_thread(self._draft_saved, state)

    def _draft_saved(self, state: str) -> None:
        self.draft_state = state
        if self.is_mounted:
            self.update_header()

    def save_draft_now(self) -> None:
        """Synchronously: before the pane goes away, whatever the user typed is on disk."""
        draft = self._draft()
        if draft is None or not self.modified:
            return
        state = self._write_draft_in_order(draft, self.ref)
        if state.startswith("draft NOT"):
            self.notify(f"the draft could not be saved: {state}", severity="error")

    def on_unmount(self) -> None:
        if self._draft_dirty:
            self.save_draft_now()
        HELD_DRAFTS.discard(self.draft_id)

    # -- apply ------------------------------------------------------------------------------
    def action_diff(self) -> None:
        if self.ref is None:
            return
        diff = xmltools.unified_diff(self.base, self.area.text, self._base_label(),
                                     "your buffer")
        self.app.push_screen(DiffScreen(f"{self.title_text}: definition → buffer", diff,
                                        confirm_label=None))

    def _base_label(self) -> str:
        return "(nothing defined yet)" if self.new else f"defined on {self.ref.host}" \
            if self.ref else "base"

    def action_apply(self) -> None:
        if self.ref is None or self.showing_live:
            self.notify("nothing to apply here: this view is read-only", severity="warning")
            return
        if self.read_only:
            self.notify(read_only_refusal(self.ref.host, f"define {self.ref.name}"),
                        severity="error", timeout=6)
            return
        if self.applying:
            self.notify("an apply is already running", severity="warning")
            return
        self.validate()
        if self.problem is not None:
            self.notify(f"not applied: the XML is not well-formed ({self.problem})",
                        severity="error", timeout=8)
            return
        text = self.area.text
        if not self.new:
            wrong = xmltools.identity_problem(self.base, text, self.ref.kind)
            if wrong is not None:
                self._show_failure(wrong)
                return
        diff = xmltools.unified_diff(self.base, text, self._base_label(), "your buffer")
        if not diff:
            self.notify("nothing to apply: the buffer is the definition", timeout=4)
            return
        target = f"{self.ref.host}/{self.ref.name}"
        title = (f"Define new {self.ref.kind} {target}?" if self.new
                 else f"Apply these changes to {target}?")
        note = ("The previous definition is kept as a backup (ctrl+r lists them)."
                if not self.new else "")
        self.app.push_screen(DiffScreen(title, diff, note=note),
                             lambda ok: self._start_apply(self.base, text, self.new)
                             if ok else None)

    def _start_apply(self, base: str, text: str, new: bool) -> None:
        assert self.ref is not None and self.fleet is not None
        self.applying = True
        self.update_header()
        self.run_worker(partial(self._apply_in_thread, self.ref, base, text, new),
                        thread=True, group="apply", exit_on_error=False)

    def _apply_in_thread(self, ref: DefinitionRef, base: str, text: str, new: bool) -> None:
        assert self.fleet is not None
        call: Callable[..., Any] = self.app.call_from_thread
        try:
            applied = self.fleet.session(ref.host).apply_definition(ref, base, text, new=new)
        except DefinitionChanged as exc:
            call(self._changed_meanwhile, exc.current, text)
        except TuivirtError as exc:
            call(self._show_failure, exc.message)
        except Exception as exc:  # a library error we did not expect: show it, keep going
            call(self._show_failure, f"{type(exc).__name__}: {exc}")
        else:
            call(self._applied, applied, text)

    def _applied(self, applied: Applied, text: str) -> None:
        self.applying = False
        self.failure = None
        self.ref = applied.ref
        self.title_text = applied.ref.address
        self.new = False
        self.base = applied.xml
        self._draft_dirty = False
        self._discard_loaded()
        if self.area.text == text:
            # Show what libvirt stored (its defaults filled in, comments dropped).
            self.area.load_text(displayable(applied.xml))
            self._write_draft_in_order(None, applied.ref)
            self.draft_state = ""
        else:
            # Typed while it applied: those edits are a draft on the new definition.
            self._draft_dirty = True
            self.save_draft_soon()
        where = f"; previous definition kept in {applied.backup}" if applied.backup else ""
        self.notify(f"{applied.ref.address}: defined{where}", timeout=8)
        self.validate()
        self.update_header()

    def _show_failure(self, message: str) -> None:
        """The daemon's (or our check's) words, verbatim; the buffer is not touched."""
        self.applying = False
        self.failure = message
        self.validate()
        self.update_header()
        self.notify(f"not applied: {message}", severity="error", timeout=10)

    def _changed_meanwhile(self, current: str, text: str) -> None:
        self.applying = False
        self.update_header()
        assert self.ref is not None
        if current:
            note = (f"{self.ref.name} was defined on {self.ref.host} by someone else after "
                    "you opened it. The diff runs from the host's definition NOW to your "
                    "buffer: applying replaces theirs (theirs is kept as a backup).")
            diff = xmltools.unified_diff(current, text, f"defined on {self.ref.host} now",
                                         "your buffer")
        else:
            note = (f"{self.ref.name} was undefined on {self.ref.host} after you opened "
                    "it. Applying defines it again from your buffer.")
            diff = xmltools.unified_diff("", text, "(undefined)", "your buffer")

        def decided(ok: bool | None) -> None:
            if ok:
                self.base = current
                self._start_apply(current, text, new=not current)
            else:
                self.notify("not applied; the buffer is unchanged", timeout=4)

        self.app.push_screen(DiffScreen("The definition changed on the host", diff,
                                        note=note, confirm_label="Apply anyway"), decided)

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

        def fetch() -> None:
            try:
                xml = fleet.session(ref.host).definition(ref, live=True)
            except TuivirtError as exc:
                self.app.call_from_thread(self.notify, f"live XML: {exc}", severity="error")
                return
            self.app.call_from_thread(show, xml)

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

        self.run_worker(fetch, thread=True, group="live", exit_on_error=False)

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

    def _discard_loaded(self) -> None:
        """The drafts this buffer came from are applied or discarded with it."""
        for draft in self.loaded:
            try:
                drafts.discard_draft(draft)
            except OSError as exc:
                self.notify(f"a draft could not be removed: {exc}", severity="warning")
        self.loaded = ()


def edit_externally(app: Any, text: str, suffix: str = ".xml") -> str | None:
    """Run $VISUAL/$EDITOR on the text (the app suspended); None when it failed, or
    when the result is too big for the editor (the file is then kept, and said)."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    fd, path = tempfile.mkstemp(prefix="tuivirt-", suffix=suffix)
    keep = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
        try:
            with app.suspend():
                status = subprocess.call([*shlex.split(command), path])
        except Exception as exc:  # no terminal to suspend to (a test), a missing editor
            app.notify(f"$EDITOR ({command}) could not run: {exc}", severity="error")
            return None
        if status != 0:
            app.notify(f"$EDITOR ({command}) exited with {status}: buffer unchanged",
                       severity="warning")
            return None
        # The size before a byte is read: a 50 MB file froze the UI for 20 s at 1 GB RSS.
        problem = xmltools.size_problem(os.stat(path).st_size, "$EDITOR's result")
        if problem is not None:
            keep = True
            app.notify(f"not loaded: {problem}. The buffer is unchanged; the file is "
                       f"kept: {path}", severity="error", timeout=15)
            return None
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    finally:
        if not keep:
            os.unlink(path)
