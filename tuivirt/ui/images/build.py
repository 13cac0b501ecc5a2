"""Building an image on a host (`b` in the images view, "Image: build" in the palette):
a small form (the context directory on the host, REPO:TAG, no cache), then the build log
streamed into a screen of its own as dockerd writes it.

The build job (a thread) only appends lines to a `LineFeed`; the screen drains it on a
timer into a RichLog: steps bold, cache hits dim, the error red. Both are bounded: a RUN
step printing without end costs at most MAX_LOG_LINES lines here. `esc` asks before it
stops a running build (dockerd then stops it and removes its container); once the build
is over `esc` goes back, with the new image's id as the screen's result.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static

from tuivirt.text import inert, inert_lines
from tuivirt.ui.common.workers import ThreadJobs, error_text

if TYPE_CHECKING:
    from tuivirt.backends.docker_build import BuildLine, Built, ImageBuild
    from tuivirt.session.host import HostSession
    from tuivirt.ui.common.dialogs import Field

#: Lines the log keeps (older ones scroll away); ~100 bytes each: ~1 MB at most.
MAX_LOG_LINES = 5000
DRAIN_EVERY = 0.05  # s: a frame or three; a busy step prints thousands of lines a second
NO, YES = "no", "yes"


class LineFeed:
    """Shared by the build job and the screen: the lines not drawn yet (bounded: when
    the screen falls behind, the oldest are dropped and counted) and the build."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: deque[BuildLine] = deque(maxlen=MAX_LOG_LINES)
        self.dropped = 0
        self.build: ImageBuild | None = None
        self.cancelled = False

    def add(self, line: BuildLine) -> None:
        with self._lock:
            if len(self._lines) == self._lines.maxlen:
                self.dropped += 1
            self._lines.append(line)

    def take(self) -> tuple[list[BuildLine], int]:
        with self._lock:
            lines, dropped = list(self._lines), self.dropped
            self._lines.clear()
            self.dropped = 0
        return lines, dropped

    def started(self, build: ImageBuild) -> None:
        with self._lock:
            self.build = build
            cancelled = self.cancelled
        if cancelled:
            build.cancel()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            build = self.build
        if build is not None:
            build.cancel()


def styled(line: BuildLine) -> Text:
    from tuivirt.backends.docker_build import LineKind

    style = {LineKind.STEP: "bold cyan", LineKind.CACHE: "dim",
             LineKind.INFO: "dim", LineKind.ERROR: "bold red"}.get(line.kind, "")
    return Text(inert(line.text), style=style, no_wrap=True)


class BuildScreen(ThreadJobs, Screen[str | None]):
    """The build of `tag` from `directory` on `host`, its log as it runs.

    `refused(message)` is called (after the screen closes) when the host refuses before
    anything runs: a missing directory or Dockerfile, a read-only host.
    """

    BINDINGS = [Binding("escape", "leave", "Stop / back")]
    DEFAULT_CSS = """
    BuildScreen { layout: vertical; }
    BuildScreen .title { height: 1; padding: 0 1; background: $primary 30%;
                         text-style: bold; }
    BuildScreen RichLog { height: 1fr; border: round $panel; }
    BuildScreen #build-status { height: auto; max-height: 12; padding: 0 1;
                                background: $panel; }
    BuildScreen #build-status.-failed { color: $error; }
    BuildScreen #build-status.-built { color: $success; }
    """

    def __init__(self, session: HostSession, directory: str, tag: str, *,
                 no_cache: bool = False,
                 refused: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.session = session
        self.host = session.name
        self.directory = directory
        self.tag = tag
        self.no_cache = no_cache
        self.refused = refused
        self.feed = LineFeed()
        self.running = True
        self.built: Built | None = None
        self.lines_shown = 0

    def compose(self) -> ComposeResult:
        yield Static(inert(f"Build {self.tag} on {self.host} from {self.directory}"),
                     classes="title", markup=False)
        yield RichLog(max_lines=MAX_LOG_LINES, wrap=False, markup=False, highlight=False,
                      auto_scroll=True, id="build-log")
        yield Static(inert(f"checking {self.directory} on {self.host}…"),
                     id="build-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RichLog).focus()
        self.set_interval(DRAIN_EVERY, self.drain)
        session, feed = self.session, self.feed

        def build() -> Built:
            built: Built = session.build_image(self.directory, self.tag,
                                               no_cache=self.no_cache, on_line=feed.add,
                                               on_build=feed.started)
            return built

        self.in_thread(build, self._built, what=f"{self.host}: build {self.tag}",
                       group="build", failed=self._failed)

    def on_unmount(self) -> None:
        if self.running:  # the app closes under a build: stop it on the daemon too
            self.feed.cancel()

    # -- the log ----------------------------------------------------------------------
    def drain(self) -> None:
        lines, dropped = self.feed.take()
        if not lines and not dropped:
            return
        log = self.query_one(RichLog)
        if dropped:
            log.write(Text(f"… {dropped} lines not shown (the build printed faster than "
                           "they could be drawn)", style="dim italic"))
        for line in lines:
            log.write(styled(line))
        self.lines_shown += len(lines)
        if self.running:
            step = next((line.text for line in reversed(lines)
                         if line.kind.value == "step"), None)
            if step is not None:
                self._status(f"building: {step}")

    def _status(self, text: str, cls: str = "") -> None:
        status = self.query_one("#build-status", Static)
        status.set_classes(cls)
        status.update(inert_lines(text))

    # -- the outcome ----------------------------------------------------------------------
    def _built(self, built: Built) -> None:
        self.running = False
        self.built = built
        self.drain()
        self._status(f"built {built.tag}: {built.image_id} ({built.steps} steps, "
                     f"{built.cached} from the cache, {built.seconds:.1f} s) · esc: back",
                     "-built")
        self.notify(inert(f"{self.host}: built {built.tag}"), timeout=6)

    def _failed(self, error: BaseException) -> None:
        from tuivirt.backends.docker_build import BuildCancelled, BuildFailed
        from tuivirt.session.builds import BuildError

        self.running = False
        self.drain()
        if isinstance(error, BuildCancelled) or self.feed.cancelled:
            self._status(f"cancelled: the build of {self.tag} was stopped; nothing was "
                         "tagged · esc: back", "-failed")
            return
        failed = error.failed if isinstance(error, BuildError) else None
        if isinstance(failed, BuildFailed):
            self._status(failed.describe() + "\nesc: back", "-failed")
            log = self.query_one(RichLog)
            log.write(Text(inert(f"build failed at {failed.step or 'the start'}"),
                           style="bold red"))
            return
        if self.lines_shown == 0 and self.refused is not None:
            # Refused before anything ran (no Dockerfile, read-only...): back to the form.
            refused, message = self.refused, error_text(error)
            self.dismiss(None)
            refused(message)
            return
        self._status(f"failed: {error_text(error)} · esc: back", "-failed")

    def action_leave(self) -> None:
        if not self.running:
            self.dismiss(self.built.image_id if self.built else None)
            return
        from tuivirt.ui.common.confirm import ConfirmScreen

        def answered(stop: bool | None) -> None:
            if stop and self.running:
                self.feed.cancel()
                self._status(f"stopping the build of {self.tag}…")

        self.app.push_screen(ConfirmScreen(f"Stop the build on {self.host}?",
                                           [f"{self.tag} from {self.directory}"],
                                           confirm_label="Stop it"), answered)


# -- opening it: the form, then the screen ----------------------------------------------
def build_fields(values: dict[str, str] | None = None) -> list[Field]:
    from tuivirt.ui.common.dialogs import Field

    typed = values or {}
    return [
        Field("directory", "Context directory on the host (holds the Dockerfile)",
              typed.get("directory", ""), placeholder="e.g. /srv/webserver"),
        Field("tag", "Tag REPO:TAG", typed.get("tag", ""),
              placeholder="e.g. project/webserver:1.0"),
        Field("no_cache", "Run every step again (no cache)", typed.get("no_cache", NO),
              options=(NO, YES)),
    ]


def parse_build(values: dict[str, str]) -> tuple[str, str, bool] | str:
    """(directory, tag with its `:latest` said, no cache), or what is wrong."""
    from tuivirt.backends.docker_build import check_tag

    directory = values.get("directory", "").strip()
    if not directory:
        return "a context directory is needed"
    tag, problem = check_tag(values.get("tag", "").strip())
    if problem is not None:
        return problem
    return directory, tag, values.get("no_cache") == YES


def build_hosts(app: App[Any]) -> list[str]:
    """The hosts that can build: a Docker endpoint, not read-only."""
    config = app.fleet.config  # type: ignore[attr-defined]
    return [h.name for h in config.hosts if h.docker and not h.read_only]


def open_build(app_or_screen: App[Any] | Screen[Any], host: str | None = None, *,
               on_built: Callable[[str], None] | None = None,
               values: dict[str, str] | None = None) -> None:
    """The build form for `host` (None: ask which), then the build screen; `on_built`
    gets the new image's id when the screen closes after a build that succeeded."""
    from tuivirt.ui.common.dialogs import ChoiceScreen, FormScreen

    app = app_or_screen if isinstance(app_or_screen, App) else app_or_screen.app
    if host is None:
        hosts = build_hosts(app)
        if not hosts:
            app.notify("no writable host has a Docker endpoint to build on",
                       severity="error", timeout=8)
        elif len(hosts) == 1:
            open_build(app, hosts[0], on_built=on_built)
        else:
            app.push_screen(ChoiceScreen("Build an image: on which host?",
                                         [(h, h) for h in hosts]),
                            lambda chosen: open_build(app, chosen, on_built=on_built)
                            if chosen else None)
        return
    chosen_host = host
    again = partial(open_build, app, chosen_host, on_built=on_built)

    def typed(form: dict[str, str] | None) -> None:
        if form is None:
            return
        parsed = parse_build(form)
        if isinstance(parsed, str):
            app.notify(f"not built: {parsed}", severity="error", timeout=10)
            again(values=form)
            return
        directory, tag, no_cache = parsed

        def refused(message: str) -> None:
            app.notify(f"not built: {message}", severity="error", timeout=10)
            again(values=form)

        session = app.fleet.session(chosen_host)  # type: ignore[attr-defined]
        screen = BuildScreen(session, directory, tag, no_cache=no_cache, refused=refused)
        app.push_screen(screen, lambda image: on_built(image)
                        if image and on_built is not None else None)

    app.push_screen(FormScreen(f"Build an image on {chosen_host}", build_fields(values),
                               note="The directory is read on the host itself (over its "
                                    "SSH connection when remote).", ok_label="Build"),
                    typed)
