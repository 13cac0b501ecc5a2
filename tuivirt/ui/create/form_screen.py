"""The new-guest form's screen: a dozen fields on one line each."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from tuivirt.text import inert, inert_lines
from tuivirt.ui.common.dialogs import FormScreen


class NewGuestForm(FormScreen):
    """A FormScreen that fits a dozen fields: one line each, the label beside its box
    (FormScreen's own layout, a label above a bordered box, took 5 rows a field)."""

    DEFAULT_CSS = """
    NewGuestForm > Vertical { width: 100; overflow-y: auto; }
    NewGuestForm .row { height: 1; margin-bottom: 1; align-horizontal: left; margin-top: 0; }
    NewGuestForm .row Label { width: 36; color: $foreground 80%; }
    NewGuestForm .row Input, NewGuestForm .row Select { width: 1fr; margin: 0; }
    NewGuestForm .row Input { background: $boost; }
    NewGuestForm .row Input:focus { background: $primary 25%; }
    NewGuestForm .row Select { height: 1; border: none; padding: 0; }
    NewGuestForm .row SelectCurrent { border: none; height: 1; margin: 0; }
    NewGuestForm #buttons { margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(inert(self.title_text), classes="title", markup=False)
            if self.note:
                yield Static(inert_lines(self.note), classes="note", markup=False)
            for field in self.fields:
                with Horizontal(classes="row"):
                    yield Label(inert(field.label), markup=False)
                    if field.options:
                        yield Select([(o, o) for o in field.options], id=f"f-{field.key}",
                                     value=field.value or field.options[0],
                                     allow_blank=False, compact=True)
                    else:
                        yield Input(inert(field.value), placeholder=inert(field.placeholder),
                                    id=f"f-{field.key}", compact=True)
            with Horizontal(id="buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button(self.ok_label, id="ok", variant="primary", compact=True)
