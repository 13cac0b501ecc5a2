"""The editor pane's apply: always through a diff, from the definition the buffer started
from; a definition changed on the host meanwhile is shown, not overwritten; a refusal
stays in the outcome line with the buffer untouched."""

from __future__ import annotations

from textual.message import Message

from tuivirt import xmltools
from tuivirt.errors import DefinitionChanged, read_only_refusal
from tuivirt.model import Applied, Guest
from tuivirt.ui.common.dialogs import DiffScreen
from tuivirt.ui.common.workers import error_text
from tuivirt.ui.editor.area import displayable
from tuivirt.ui.editor.draft_keeping import DraftKeeping


class NewGuestDefined(Message):
    """A new definition (a new guest, a clone, an import) was defined: the screen may
    put its table's cursor there."""

    def __init__(self, guest: Guest) -> None:
        super().__init__()
        self.guest = guest


class ApplyFlow(DraftKeeping):
    """ctrl+t shows the diff, ctrl+s applies through it."""

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
                if not self.new else self.define_note)
        self.app.push_screen(DiffScreen(title, diff, note=note),
                             lambda ok: self._start_apply(self.base, text, self.new)
                             if ok else None)

    def _start_apply(self, base: str, text: str, new: bool) -> None:
        assert self.ref is not None and self.fleet is not None
        self.applying = True
        self.update_header()
        ref, fleet, define = self.ref, self.fleet, self.define if new else None

        def apply() -> Applied:
            if define is not None:
                return define(text)
            return fleet.session(ref.host).apply_definition(ref, base, text, new=new)

        self.in_thread(apply, lambda applied: self._applied(applied, text),
                       what=f"{ref.address}: not applied", group="apply",
                       failed=lambda error: self._apply_failed(error, text))

    def _apply_failed(self, error: BaseException, text: str) -> None:
        """Told in the outcome line (and one toast); a concurrent change as a diff from
        the host's definition now."""
        if isinstance(error, DefinitionChanged):
            self._changed_meanwhile(error.current, text)
        else:  # the daemon's words, or a library error we did not expect: shown
            self._show_failure(error_text(error))

    def _applied(self, applied: Applied, text: str) -> None:
        if self.new and applied.guest is not None:
            self.post_message(NewGuestDefined(applied.guest))
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
