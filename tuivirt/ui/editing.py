"""Opening the XML editor pane from a screen: fetch off the UI thread, offer drafts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget

from tuivirt import drafts, xmltools
from tuivirt.errors import TuivirtError
from tuivirt.model import DefinitionRef

if TYPE_CHECKING:
    from tuivirt.config import Config
    from tuivirt.session import Fleet
    from tuivirt.ui.widgets.xml_editor import EditorPane

# The pane, its TextArea and the dialogs are imported when first used: not at startup.


class EditorHost(Screen[None]):
    """A screen with a `#body` row whose first child is its table; the pane goes beside.

    Subclasses set `config` and provide `home()` (the widget to focus when the user
    leaves the editor); the app provides `fleet`.
    """

    config: Config

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

    def home(self) -> Widget:
        raise NotImplementedError

    @property
    def editor(self) -> EditorPane | None:
        from tuivirt.ui.widgets.xml_editor import EditorPane

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

        def fetch() -> None:
            try:
                xml = fleet.session(ref.host).definition(ref)
            except TuivirtError as exc:
                self.app.call_from_thread(self.open_failed, f"{ref.address}: cannot read "
                                          f"the definition: {getattr(exc, 'message', exc)}")
                return
            draft = drafts.load(ref.host, ref.kind, ref.name)
            self.app.call_from_thread(self._offer_draft, ref, xml, draft, external)

        self.run_worker(fetch, thread=True, group="editor", exit_on_error=False)

    def _offer_draft(self, ref: DefinitionRef, xml: str, draft: drafts.Draft | None,
                     external: bool) -> None:
        from tuivirt.ui.screens.dialogs import ChoiceScreen

        if draft is None or draft.text == xml:
            self._open(ref, xml, xml, external)
            return
        changed = xmltools.changed_lines(xml, draft.text)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(draft.saved_at))
        note = f"It differs from the definition in {changed} lines."
        if draft.base != xml:
            note += (" The definition on the host changed since the draft was started: "
                     "applying the draft will show you both.")

        def chosen(key: str | None) -> None:
            if key == "draft":
                self._open(ref, draft.base, draft.text, external)
            elif key == "definition":
                drafts.discard(ref.host, ref.kind, ref.name)
                self._open(ref, xml, xml, external)
            else:
                self.open_cancelled()

        self.app.push_screen(ChoiceScreen(
            f"An unapplied draft of {ref.address} from {when} exists",
            [("draft", "Open the draft"),
             ("definition", "Discard the draft and open the definition"),
             ("cancel", "Cancel")], note=note), chosen)

    def open_failed(self, message: str) -> None:
        self.notify(message, severity="error", timeout=8)

    def open_cancelled(self) -> None:
        """The user chose not to open anything (the standalone editor exits)."""

    def _open(self, ref: DefinitionRef, base: str, text: str, external: bool) -> None:
        from tuivirt.ui.widgets.xml_editor import EditorPane, edit_externally

        if external:
            edited = edit_externally(self.app, text)
            if edited is None:
                self.open_cancelled()
                return
            text = edited
        pane = EditorPane(self.fleet, ref=ref, base=base, text=text,
                          read_only=self.read_only(ref.host))
        self.show_editor(pane)

    def writable_libvirt_hosts(self) -> tuple[str, ...]:
        """Where a new definition may go: libvirt hosts not marked read-only."""
        return tuple(h.name for h in self.config.hosts if h.libvirt and not h.read_only)

    def open_derived(self, source: DefinitionRef, target: DefinitionRef,
                     derive: Callable[[str], tuple[str, str]], what: str) -> None:
        """Fetch `source`'s definition off the UI thread, turn it into a new one with
        `derive` (-> text, note for the user) and open that for review (a clone...)."""
        fleet = self.fleet
        call = self.app.call_from_thread

        def build() -> None:
            try:
                text, note = derive(fleet.session(source.host).definition(source))
            except (TuivirtError, ValueError) as exc:
                call(self.notify, f"{what}: {getattr(exc, 'message', exc)}",
                     severity="error", timeout=8)
                return
            call(self.open_new, target, text, note)

        self.run_worker(build, thread=True, group="editor", exit_on_error=False)

    def open_new(self, ref: DefinitionRef, text: str, note: str) -> None:
        """A definition that does not exist yet (a clone, an import): define on apply."""
        from tuivirt.ui.widgets.xml_editor import EditorPane

        self.show_editor(EditorPane(self.fleet, ref=ref, base="", text=text, new=True,
                                    note=note, read_only=self.read_only(ref.host)))

    # Handlers by name (EditorPane.Closed / .Left): the class is not imported at startup.
    def on_editor_pane_closed(self, event: EditorPane.Closed) -> None:
        event.pane.remove()
        self.home().focus()

    def on_editor_pane_left(self) -> None:
        self.home().focus()
