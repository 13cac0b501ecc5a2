"""Opening the XML editor pane from a screen: fetch off the UI thread, offer drafts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.containers import Horizontal

from tuivirt import drafts, xmltools
from tuivirt.errors import TuivirtError
from tuivirt.model import Applied, DefinitionRef
from tuivirt.ui.common.fleet_screen import FleetScreen
from tuivirt.ui.common.workers import ThreadJobs

if TYPE_CHECKING:
    from tuivirt.config import Config
    from tuivirt.ui.editor.xml_editor import EditorPane

# The pane, its TextArea and the dialogs are imported when first used: not at startup.


class EditorHost(FleetScreen, ThreadJobs):
    """A screen with a `#body` row whose first child is its table; the pane goes beside.

    Subclasses set `config` and provide `home()` (the widget to focus when the user
    leaves the editor); the app provides `fleet`. Its thread jobs report through
    ThreadJobs (a failure: `job_failed`, once).
    """

    config: Config

    @property
    def editor(self) -> EditorPane | None:
        from tuivirt.ui.editor.xml_editor import EditorPane

        found = self.query(EditorPane)
        return found.first() if found else None

    def show_editor(self, pane: EditorPane) -> None:
        """Mount a pane, replacing the open one (its unsaved buffer is kept as a draft)."""
        old = self.editor
        if old is not None and old.applying:
            self.notify(f"{old.title_text}: an apply is running; wait for its outcome "
                        "before opening another definition", severity="warning")
            return
        if old is not None:
            if old.modified and old.ref is not None:
                old.save_draft_now()
                self.notify(f"{old.title_text}: unapplied changes kept as a draft",
                            timeout=5)
            old._draft_dirty = False
            old.remove()
        self.query_one("#body", Horizontal).mount(pane)

    def open_definition(self, ref: DefinitionRef, *, external: bool = False) -> None:
        """Fetch the definition (and any draft) in a thread, then open the pane."""
        current = self.editor
        if current is not None and current.ref == ref and not external:
            current.area.focus()
            return
        fleet = self.fleet

        def fetch() -> tuple[str, str | None, drafts.Found]:
            """The definition, why it is too big to open (or None), its drafts."""
            xml = fleet.session(ref.host).definition(ref)
            problem = xmltools.size_problem(xmltools.text_size(xml),
                                            f"{ref.address}'s definition")
            return xml, problem, drafts.find(ref.host, ref.kind, ref.name)

        def fetched(result: tuple[str, str | None, drafts.Found]) -> None:
            xml, problem, found = result
            if problem is not None:
                self.open_failed(f"not opened: {problem}")
            else:
                self._offer_drafts(ref, xml, found, external)

        self.in_thread(fetch, fetched, what=f"{ref.address}: cannot read the definition",
                       group="editor")

    def _offer_drafts(self, ref: DefinitionRef, xml: str, found: drafts.Found,
                      external: bool) -> None:
        """Every unapplied draft of the definition (one per tuivirt that edited it,
        running or not) is offered; none is deleted unless the user says so."""
        from tuivirt.ui.common.dialogs import ChoiceScreen

        for reason in found.skipped:
            self.notify(f"{ref.address}: a draft was not loaded: {reason}",
                        severity="warning", timeout=10)
        # Drafts with the same text are one edit (saved again by the instance that
        # opened it): offered once, and all of them are "the one chosen".
        same: dict[str, list[drafts.Draft]] = {}
        for draft in found.drafts:
            if draft.text != xml:
                same.setdefault(draft.text, []).append(draft)
        groups = list(same.values())
        if not groups:
            self._open(ref, xml, xml, external)
            return
        offered = [d for group in groups for d in group]
        choices = [(f"draft:{n}", ("Open the draft: " if len(groups) == 1 else "")
                    + draft_summary(group[0], xml)) for n, group in enumerate(groups)]
        if len(groups) == 1:
            draft = groups[0][0]
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(draft.saved_at))
            title = f"An unapplied draft of {ref.address} from {when} exists"
            changed = xmltools.changed_lines(xml, draft.text)
            note = f"It differs from the definition in {changed} lines."
            discard_label = "Discard the draft and open the definition"
            keep_label = "Open the definition; keep the draft for later"
        else:
            title = f"{len(groups)} unapplied drafts of {ref.address} exist"
            note = ("Each was left by a tuivirt that edited this definition (newest "
                    "first). Open one; the others are kept and offered again.")
            discard_label = f"Discard all {len(groups)} drafts and open the definition"
            keep_label = "Open the definition; keep the drafts for later"
        if any(d.base != xml for d in offered):
            note += (" The definition on the host changed since a draft (marked 'host "
                     "changed') was started: applying it will show you both.")
        choices += [("definition", discard_label), ("keep", keep_label),
                    ("cancel", "Cancel")]

        def chosen(key: str | None) -> None:
            if key is not None and key.startswith("draft:"):
                group = groups[int(key.removeprefix("draft:"))]
                self._open(ref, group[0].base, group[0].text, external, tuple(group),
                           adoptable(group))
            elif key == "definition":
                for draft in offered:
                    drafts.discard_draft(draft)
                self._open(ref, xml, xml, external)
            elif key == "keep":
                self._open(ref, xml, xml, external)
            else:
                self.open_cancelled()

        self.app.push_screen(ChoiceScreen(title, choices, note=note), chosen)

    def open_failed(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)

    def open_cancelled(self) -> None:
        """The user chose not to open anything (the standalone editor exits)."""

    def _open(self, ref: DefinitionRef, base: str, text: str, external: bool,
              loaded: tuple[drafts.Draft, ...] = (), draft_id: str = "") -> None:
        from tuivirt.ui.editor.external import edit_externally
        from tuivirt.ui.editor.xml_editor import EditorPane

        if external:
            edited = edit_externally(self.app, text)
            if edited is None:
                self.open_cancelled()
                return
            text = edited
        pane = EditorPane(self.fleet, ref=ref, base=base, text=text,
                          read_only=self.read_only(ref.host), loaded=loaded,
                          draft_id=draft_id)
        self.show_editor(pane)

    def writable_libvirt_hosts(self) -> tuple[str, ...]:
        """Where a new definition may go: libvirt hosts not marked read-only."""
        return tuple(h.name for h in self.config.hosts if h.libvirt and not h.read_only)

    def open_derived(self, source: DefinitionRef, target: DefinitionRef,
                     derive: Callable[[str], tuple[str, str]], what: str) -> None:
        """Fetch `source`'s definition off the UI thread, turn it into a new one with
        `derive` (-> text, note for the user) and open that for review (a clone...)."""
        fleet = self.fleet

        def build() -> tuple[str, str]:
            xml = fleet.session(source.host).definition(source)
            try:
                return derive(xml)
            except ValueError as exc:  # the source cannot be turned into one: say why
                raise TuivirtError(str(exc)) from exc

        self.in_thread(build, lambda made: self.open_new(target, *made), what=what,
                       group="editor")

    def open_new(self, ref: DefinitionRef, text: str, note: str, *,
                 define: Callable[[str], Applied] | None = None,
                 define_note: str = "") -> None:
        """A definition that does not exist yet (a clone, an import): define on apply
        (with `define`, when given: a new guest's own steps, run on a thread)."""
        from tuivirt.ui.editor.xml_editor import EditorPane

        problem = xmltools.size_problem(xmltools.text_size(text), f"new {ref.address}")
        if problem is not None:
            self.open_failed(f"not opened: {problem}")
            return
        self.show_editor(EditorPane(self.fleet, ref=ref, base="", text=text, new=True,
                                    note=note, read_only=self.read_only(ref.host),
                                    define=define, define_note=define_note))

    # Handlers by name (EditorPane.Closed / .Left): the class is not imported at startup.
    def on_editor_pane_closed(self, event: EditorPane.Closed) -> None:
        event.pane.remove()
        self.home().focus()

    def on_editor_pane_left(self) -> None:
        self.home().focus()


def inert(text: str, width: int = 50) -> str:
    """A line from a file, safe to show in a dialog: control, bidi and zero-width
    characters escaped (\\x1b, \\u202e), markup escaped, cut to `width`."""
    from textual.markup import escape

    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in text.strip())
    return escape(shown if len(shown) <= width else shown[:width - 1] + "…")


def adoptable(group: list[drafts.Draft]) -> str:
    """The id of a draft in `group` the new pane may go on writing (so that opening a
    draft and keeping it again leaves one file, not two): one that no running tuivirt
    or open pane writes. "" when there is none (then the pane starts its own)."""
    from tuivirt.ui.editor.draft_keeping import HELD_DRAFTS

    for draft in group:
        if (draft.instance != drafts.LEGACY and draft.instance not in HELD_DRAFTS
                and (draft.this_process or not draft.instance_running())):
            return draft.instance
    return ""


def draft_summary(draft: drafts.Draft, xml: str) -> str:
    """One line: when, size, how much differs from the definition and where first,
    whose draft it is."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(draft.saved_at))
    parts = [when, xmltools.human_size(xmltools.text_size(draft.text)),
             f"{xmltools.changed_lines(xml, draft.text)} lines differ"]
    first = xmltools.first_change(xml, draft.text)
    if first is not None:
        parts.append(f"line {first[0]}: {inert(first[1])}")
    if draft.this_process:
        parts.append("this tuivirt")
    elif draft.instance_running():
        parts.append(f"open in a running tuivirt (pid {draft.pid})")
    elif draft.pid is None:
        parts.append("from an older tuivirt")
    if draft.base != xml:
        parts.append("host changed")
    return " · ".join(parts)
