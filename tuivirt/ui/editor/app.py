"""`tuivirt edit ADDRESS`: the XML editor pane alone, full screen, on one definition."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Footer

from tuivirt.config import Config
from tuivirt.model import DefinitionRef
from tuivirt.session import Fleet
from tuivirt.ui.common.workers import error_text
from tuivirt.ui.console.terminal import GuestKeysFirst
from tuivirt.ui.editor.host import EditorHost
from tuivirt.ui.editor.xml_editor import EditorPane


class EditScreen(EditorHost):
    """Holds one pane; closing it (ctrl+q) ends the program."""

    DEFAULT_CSS = """
    EditScreen #body { height: 1fr; }
    EditScreen EditorPane { border-left: none; }
    """

    def __init__(self, config: Config, ref: DefinitionRef, *, new_text: str | None = None,
                 note: str = "") -> None:
        super().__init__()
        self.config = config
        self.ref = ref
        self.new_text = new_text
        self.note = note

    def compose(self) -> ComposeResult:
        yield Horizontal(id="body")
        yield Footer()

    def on_mount(self) -> None:
        if self.new_text is not None:
            self.open_new(self.ref, self.new_text, self.note)
        else:
            self.open_definition(self.ref)

    def home(self) -> Widget:
        return self.editor or self

    def open_failed(self, message: str) -> None:
        self.app.exit(1, message=message)

    def job_failed(self, what: str, error: BaseException) -> None:
        """Its one job opens the definition: failed, there is nothing to edit."""
        self.open_failed(f"{what}: {error_text(error)}")

    def open_cancelled(self) -> None:
        self.app.exit(0)

    def on_editor_pane_closed(self, _event: EditorPane.Closed) -> None:
        self.app.exit(0)

    def on_editor_pane_left(self) -> None:
        pass  # nowhere else to go: stay in the editor


class EditApp(GuestKeysFirst, App[int]):
    """ctrl+q is the pane's close (it asks about unapplied changes), then the app ends."""

    TITLE = "tuivirt edit"

    def __init__(self, config: Config, fleet: Fleet, ref: DefinitionRef, *,
                 new_text: str | None = None, note: str = "") -> None:
        super().__init__()
        self.config = config
        self.fleet = fleet
        self._screen_args = (ref, new_text, note)
        from tuivirt import paths
        from tuivirt.ui.themes import load_themes

        for theme in load_themes([paths.config_dir() / "themes"]):
            self.register_theme(theme)
        self.theme = config.theme if config.theme in self.available_themes else "tuivirt-dark"

    def get_default_screen(self) -> EditScreen:
        ref, new_text, note = self._screen_args
        return EditScreen(self.config, ref, new_text=new_text, note=note)
