"""Dialogs the editor needs: a diff to confirm, a choice among options, a small form.

Titles, notes, diffs and defaults quote names and file contents: drawn inert (their
control and bidi characters escaped) and never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from tuivirt.text import inert, inert_lines

_DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: {width}; max-width: 96%; height: auto; max-height: 92%;
    border: thick $primary; background: $surface; padding: 1 2;
}}
{name} .title {{ text-style: bold; margin-bottom: 1; }}
{name} .note {{ color: $warning; margin-bottom: 1; }}
{name} Horizontal {{ height: auto; align-horizontal: right; margin-top: 1; }}
{name} Button {{ margin-left: 2; }}
"""


def colour_diff(diff: str) -> Text:
    """A unified diff with the usual colours: removed red, added green, hunks blue."""
    out = Text()
    # split("\n"), not splitlines(): that would also break at U+0085, U+2028, FS, GS...
    # and hide them; as one line each is shown escaped.
    for line in diff.removesuffix("\n").split("\n"):
        style = ""
        if line.startswith(("---", "+++")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("+"):
            style = "green"
        out.append(inert_lines(line) + "\n", style=style)
    return out


class DiffScreen(ModalScreen[bool]):
    """A unified diff and one question: apply it (`y`/enter) or go back (`esc`)."""

    BINDINGS = [
        Binding("escape,n", "back", "Back"),
        Binding("y", "apply", "Apply", show=False),
    ]
    DEFAULT_CSS = _DIALOG_CSS.format(name="DiffScreen", width=110) + """
    DiffScreen VerticalScroll { height: auto; max-height: 30; border: round $panel; }
    """

    def __init__(self, title: str, diff: str, *, note: str = "",
                 confirm_label: str | None = "Apply") -> None:
        super().__init__()
        self.title_text = title
        self.diff = diff
        self.note = note
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(inert(self.title_text), classes="title", markup=False)
            if self.note:
                yield Static(inert_lines(self.note), classes="note", markup=False)
            with VerticalScroll(id="diff"):
                yield Static(colour_diff(self.diff) if self.diff else "(no differences)")
            with Horizontal():
                yield Button("Back (esc)", id="back")
                if self.confirm_label:
                    yield Button(f"{self.confirm_label} (y)", id="apply", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#diff").focus()

    def action_apply(self) -> None:
        if self.confirm_label:
            self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        else:
            self.action_back()


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one option (enter) or cancel (esc); returns the option's id or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = _DIALOG_CSS.format(name="ChoiceScreen", width=90) + """
    ChoiceScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, title: str, choices: list[tuple[str, str]], *,
                 note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(inert(self.title_text), classes="title", markup=False)
            if self.note:
                yield Static(inert_lines(self.note), classes="note", markup=False)
            yield OptionList(*[Option(Text(inert(label)), id=key)
                               for key, label in self.choices])
            yield Static("enter: choose · esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class Field:
    """One line of a FormScreen: free text, or a choice among `options` when given."""

    key: str
    label: str
    value: str = ""
    placeholder: str = ""
    options: tuple[str, ...] = ()


class FormScreen(ModalScreen[dict[str, str] | None]):
    """A few labelled fields; enter on the last one (or the OK button) submits."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = _DIALOG_CSS.format(name="FormScreen", width=80) + """
    FormScreen Input, FormScreen Select { margin-bottom: 1; }
    """

    def __init__(self, title: str, fields: list[Field], *, note: str = "",
                 ok_label: str = "OK") -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.note = note
        self.ok_label = ok_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(inert(self.title_text), classes="title", markup=False)
            if self.note:
                yield Static(inert_lines(self.note), classes="note", markup=False)
            for field in self.fields:
                yield Label(inert(field.label), markup=False)
                if field.options:
                    yield Select([(o, o) for o in field.options], id=f"f-{field.key}",
                                 value=field.value or field.options[0], allow_blank=False)
                else:
                    # A default built from a name (`NAME-clone`) shows what it will be:
                    # an Input would draw its control characters raw.
                    yield Input(inert(field.value), placeholder=inert(field.placeholder),
                                id=f"f-{field.key}")
            with Horizontal():
                yield Button("Cancel (esc)", id="cancel")
                yield Button(self.ok_label, id="ok", variant="primary")

    def values(self) -> dict[str, str]:
        out = {}
        for field in self.fields:
            widget = self.query_one(f"#f-{field.key}")
            if isinstance(widget, Select):
                out[field.key] = str(widget.value)
            else:
                assert isinstance(widget, Input)
                out[field.key] = widget.value.strip()
        return out

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self.values())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.dismiss(self.values())
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
