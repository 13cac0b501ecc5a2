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
    ("Find", [("/", "filter: host:NAME tag:NAME state:running kind:docker, text or "
                    "regex; !word negates"), ("esc", "clear the filter"),
              ("o / O", "sort by the next column / reverse"),
              ("H", "group by host, then by tag (hosts with tags), then no groups"),
              ("h", "the host panel: one line per host, the unreachable first; "
                    "/ filters it, esc hides it")]),
    ("Act (on marked guests, or the one under the cursor)", [
        ("space", "mark / unmark"), ("u", "clear all marks"),
        ("s", "start"), ("S", "shutdown (ACPI; docker stop)"), ("r", "reboot"),
        ("D", "destroy: force off (asks first)"), ("p", "pause / resume"),
        ("a", "autostart on / off"), ("U", "undefine / remove (type the name)")]),
    ("Definitions (libvirt XML)", [
        ("n", "new guest: a VM or LXC container (reviewed in the editor pane, ctrl+s "
              "makes it) or a Docker container (made at once, its pull shown)"),
        ("x", "edit the definition in a pane beside the table (docker: inspect JSON)"),
        ("E", "edit it in $EDITOR, then review it in the pane"),
        ("C", "clone: copy the definition to a new name, here or on another host"),
        ("N", "networks: start / stop / autostart / edit / new from one"),
        ("P", "storage: pools and volumes; new / resize / delete a volume, start / stop "
              "/ autostart / refresh a pool"),
        ("I", "Docker images of every host (below)")]),
    ("Images view (I)", [
        ("p / u", "pull onto a host / push the tag under the cursor (esc stops it)"),
        ("t", "tag: give the image another REPOSITORY:TAG"),
        ("d / D", "remove (refused while containers use it) / remove anyway; the name "
                  "is typed"),
        ("X", "prune the dangling images of the host under the cursor (says how much "
              "first)"),
        ("n / b", "run a container from the image / build an image on that host"),
        ("/ · esc", "filter: host:NAME tag: id: used: words, regex, !negates · back")]),
    ("In the editor pane", [
        ("ctrl+s", "apply: the diff first, then define (libvirt validates)"),
        ("ctrl+t", "diff: definition → buffer"), ("ctrl+l", "live XML (read-only)"),
        ("ctrl+f", "find (enter: next)"), ("ctrl+g", "go to the XML error"),
        ("ctrl+r", "backups: load one into the buffer"), ("ctrl+o", "$EDITOR"),
        ("f2", "maximise / restore"), ("esc", "back to the table (the pane stays)"),
        ("ctrl+q", "close (keep the draft or discard it)")]),
    ("Consoles (a tab below the table)", [
        ("c", "open the guest's console, or go back to it"),
        ("ctrl+]", "in a console: back to the table (every other key goes to the guest)"),
        ("shift+pgup/pgdn", "in a console: scroll back"),
        ("f2 / f3 / f4", "maximise the console / search its scrollback / save it"),
        ("f5 / f8", "reconnect (or take it over) / close the console"),
        ("+ / -", "a taller / shorter console pane")]),
    ("Logs (a pane beside the table)", [
        ("l", "the guest's log: docker logs, or its hypervisor log (follows it)"),
        ("f3 or / , f4", "in the pane: search (enter: older match) / save it to a file"),
        ("t / G", "timestamps on / off (containers) / follow again (the end)"),
        ("esc / f8", "back to the table (the pane stays) / close the pane")]),
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
