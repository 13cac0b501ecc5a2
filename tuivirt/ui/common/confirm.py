"""Confirmation before it hurts: every target named with its host; undefine wants a name."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tuivirt.text import inert


class ConfirmScreen(ModalScreen[bool]):
    """Lists every target; `enter`/`y` confirms, `esc`/`n` cancels.

    With `typed`, the user must type that text before confirming (undefine).
    """

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("y", "confirm", "Confirm", show=False),
    ]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 72; max-width: 95%; height: auto; max-height: 90%;
        border: thick $error; background: $surface; padding: 1 2;
    }
    ConfirmScreen .title { text-style: bold; color: $error; margin-bottom: 1; }
    ConfirmScreen .targets { max-height: 14; overflow-y: auto; margin-bottom: 1; }
    ConfirmScreen Horizontal { height: auto; align-horizontal: right; }
    ConfirmScreen Button { margin-left: 2; }
    """

    def __init__(self, title: str, targets: list[str], *, typed: str | None = None,
                 confirm_label: str = "Confirm") -> None:
        super().__init__()
        self.title_text = title
        self.targets = targets
        self.typed = typed
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical():
            # Targets are names from the daemons: one line each, inert, never markup.
            yield Label(inert(self.title_text), classes="title", markup=False)
            yield Static("\n".join(f"  • {inert(t)}" for t in self.targets),
                         classes="targets", markup=False)
            if self.typed is not None:
                yield Label(Text.assemble("Type ", (inert(self.typed), "bold"),
                                          " to confirm:"))
                yield Input(placeholder=inert(self.typed), id="typed")
            with Horizontal():
                yield Button("Cancel (esc)", id="cancel")
                yield Button(f"{self.confirm_label} (y)", id="confirm", variant="error")

    def on_mount(self) -> None:
        if self.typed is not None:
            self.query_one("#typed", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    def action_confirm(self) -> None:
        if self.typed is not None:
            value = self.query_one("#typed", Input).value
            # The name as shown (escaped) confirms too: a control character is not typable.
            if value not in (self.typed, inert(self.typed)):
                self.notify(f"type {inert(self.typed)} exactly to confirm",
                            severity="warning")
                return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self.action_cancel()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()
