"""`?`: every key of the main screen, from the same bindings the footer shows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = [
    ("Move", [("j / k, ↓ / ↑", "next / previous guest"), ("g / G", "first / last guest"),
              ("pgdn / pgup", "a screen down / up")]),
    ("Find", [("/", "filter: host:NAME state:running kind:docker, text or regex; "
                    "!word negates"), ("esc", "clear the filter"),
              ("o / O", "sort by the next column / reverse"), ("H", "group by host"),
              ("h", "show / hide the host panel")]),
    ("Act (on marked guests, or the one under the cursor)", [
        ("space", "mark / unmark"), ("u", "clear all marks"),
        ("s", "start"), ("S", "shutdown (ACPI; docker stop)"), ("r", "reboot"),
        ("D", "destroy: force off (asks first)"), ("p", "pause / resume"),
        ("a", "autostart on / off"), ("U", "undefine / remove (type the name)")]),
    ("App", [(": / ctrl+p", "command palette: every action, themes"), ("?", "this help"),
             ("q", "quit")]),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 2;
    }
    """

    def compose(self) -> ComposeResult:
        lines = ["[b]tuivirt keys[/b]  (esc closes)", ""]
        for section, keys in KEYS:
            lines.append(f"[b $accent]{section}[/]")
            for key, what in keys:
                lines.append(f"  [b]{key:<14}[/b] {what}")
            lines.append("")
        with VerticalScroll():
            yield Static("\n".join(lines))

    def action_close(self) -> None:
        self.dismiss(None)
