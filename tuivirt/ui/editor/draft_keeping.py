"""The editor pane's drafts: the buffer saved in the XDG state dir as it is typed (off
the UI thread), synchronously before the pane goes, removed once applied or discarded."""

from __future__ import annotations

import time
from functools import partial

from textual import on
from textual.widgets import TextArea

from tuivirt import drafts
from tuivirt.model import DefinitionRef
from tuivirt.ui.editor.buffer import EditorBuffer

DRAFT_AFTER = 1.0  # s of quiet typing before the draft is written
HELD_DRAFTS: set[str] = set()  # the draft ids of the panes open in this process


class DraftKeeping(EditorBuffer):
    """Writes are numbered: a write older than one already done is skipped (two quick
    saves, or a save and a discard, run on threads that may finish out of order)."""

    def on_mount(self) -> None:
        HELD_DRAFTS.add(self.draft_id)

    @on(TextArea.Changed, "#ed-area")
    def draft_later(self, _event: TextArea.Changed) -> None:
        if self.ref is not None and not self.read_only:
            self._draft_dirty = True
            if self._draft_timer is not None:
                self._draft_timer.stop()
            self._draft_timer = self.set_timer(DRAFT_AFTER, self.save_draft_soon)

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
        self.in_thread(partial(self._write_draft_in_order, draft if self.modified else None,
                               self.ref, self._draft_seq), self._draft_saved,
                       what=f"{draft.host}/{draft.name}: draft NOT saved", group="draft")

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

    def _discard_loaded(self) -> None:
        """The drafts this buffer came from are applied or discarded with it."""
        for draft in self.loaded:
            try:
                drafts.discard_draft(draft)
            except OSError as exc:
                self.notify(f"a draft could not be removed: {exc}", severity="warning")
        self.loaded = ()
