"""Every Textual internal tuivirt uses, one test each, named after it.

The console's fast paths (tuivirt/ui/console/fastpath.py) and the XML editor reach past Textual's
public API; Textual is pinned to the minor release they are tested with. When a new
Textual is tried, a test here fails by the internal's name: fix the fast path (or let
it fall back) before widening the pin.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

import pytest
from textual import events
from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.driver import Driver
from textual.drivers._writer_thread import WriterThread
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static, TextArea

from tuivirt.ui.console import fastpath


class _Two(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("one", id="one")
        yield Static("two", id="two")


def _driver(app: App[None] | None = None) -> LinuxDriver:
    """(On a running loop: the driver keeps it.)"""
    return LinuxDriver(app or App(), debug=False, mouse=False, size=(80, 24))


def test_every_internal_the_fast_paths_use_has_a_test_here() -> None:
    tests = {name for name in globals() if name.startswith("test_internal_")}
    wanted = {f"test_internal_{owner}_{name}" for owner, name, _ in fastpath.INTERNALS}
    assert wanted <= tests, sorted(wanted - tests)


# -- App ------------------------------------------------------------------------------------
def test_internal_App__driver() -> None:
    app = App[None]()
    assert app._driver is None  # set to the driver while it runs


async def test_internal_App__driver_while_running() -> None:
    app = _Two()
    async with app.run_test():
        assert isinstance(app._driver, Driver)


def test_internal_App__batch_count() -> None:
    app = App[None]()
    assert app._batch_count == 0
    with app.batch_update():
        assert app._batch_count == 1
    assert app._batch_count == 0


# -- Widget -------------------------------------------------------------------------------
def test_internal_Widget__layout_required() -> None:
    assert Widget()._layout_required is False


def test_internal_Widget__scroll_required() -> None:
    assert Widget()._scroll_required is False


def test_internal_Widget__recompose_required() -> None:
    assert Widget()._recompose_required is False


def test_internal_Widget__repaint_required() -> None:
    assert Widget()._repaint_required is False


def test_internal_Widget__on_key() -> None:
    # TerminalView overrides it: Textual dispatches a key to `_on_key` (where the
    # bindings run) before `on_key`; overriding it keeps guest keys from the bindings.
    assert inspect.iscoroutinefunction(Widget._on_key)
    assert list(inspect.signature(Widget._on_key).parameters) == ["self", "event"]


# -- Screen and its compositor --------------------------------------------------------------
async def test_internal_Screen__dirty_widgets() -> None:
    app = _Two()
    async with app.run_test():
        assert isinstance(app.screen._dirty_widgets, set)


def test_internal_Screen__on_timer_update() -> None:
    method = Screen._on_timer_update
    assert callable(method) and not inspect.iscoroutinefunction(method)
    assert list(inspect.signature(method).parameters) == ["self"]
    source = inspect.getsource(method)  # what fastpath.paint_now does ahead of the timer
    assert "_dirty_widgets" in source and "_compositor" in source


async def test_internal_Screen__compositor() -> None:
    app = _Two()
    async with app.run_test():
        assert isinstance(app.screen._compositor, Compositor)


async def test_internal_Compositor_visible_widgets() -> None:
    # {widget: (region, clip)}, front to back: fastpath.paint_now looks for anything
    # before the terminal (in front of it).
    app = _Two()
    async with app.run_test(size=(40, 10)):
        visible = app.screen._compositor.visible_widgets
        one, two = app.query_one("#one"), app.query_one("#two")
        assert isinstance(visible, dict)
        region, clip = visible[one]
        assert isinstance(region, Region) and isinstance(clip, Region)
        assert region == Region(0, 0, 40, 1) and visible[two][0] == Region(0, 1, 40, 1)
        order = list(visible)
        assert order[-1] is app.screen and order.index(one) < order.index(app.screen)


# -- the driver ------------------------------------------------------------------------------
async def test_internal_Driver__app() -> None:
    app = App[None]()
    assert _driver(app)._app is app
    assert callable(Driver.process_message)


async def test_internal_LinuxDriver__file() -> None:
    import sys

    assert _driver()._file is sys.__stderr__


async def test_internal_LinuxDriver__writer_thread() -> None:
    # fastpath swaps `_file` before start_application_mode, which hands it to the
    # writer thread: the thread then writes through the swapped file.
    assert _driver()._writer_thread is None
    source = inspect.getsource(LinuxDriver.start_application_mode)
    assert "self._writer_thread = WriterThread(self._file)" in source


def test_internal_WriterThread__file() -> None:
    calls: list[Any] = []

    class File:
        def write(self, text: str) -> None:
            calls.append(("write", text, threading.current_thread().name))

        def flush(self) -> None:
            calls.append(("flush",))

        def fileno(self) -> int:
            return 2

    file = File()
    thread = WriterThread(file)  # type: ignore[arg-type]
    assert thread._file is file
    thread.start()
    thread.write("frame")
    thread.stop()
    thread.join(5)
    assert ("write", "frame", thread.name) in calls and ("flush",) in calls


async def test_internal_LinuxDriver_fileno() -> None:
    assert isinstance(_driver().fileno, int)


async def test_internal_LinuxDriver_exit_event() -> None:
    event = _driver().exit_event
    assert isinstance(event, threading.Event) and not event.is_set()


# -- the rest of what the fast paths rely on -------------------------------------------------
def test_internal_events_take_an_input_number() -> None:
    key = events.Key("a", "a")
    numbered: Any = key
    numbered.input_number = 7  # set by the driver on keys posted the usual way
    assert numbered.input_number == 7


async def test_internal_context_is_Textuals_own() -> None:
    # fastpath.Waker runs callbacks in a copy of the app's context: Textual keeps the
    # active app there.
    from textual._context import active_app

    app = _Two()
    async with app.run_test():
        assert active_app.get() is app


# -- the XML editor -----------------------------------------------------------------------------
def test_internal_TextArea__on_key() -> None:
    # XMLArea overrides it to run the area's bindings in arrival order.
    assert inspect.iscoroutinefunction(TextArea._on_key)
    assert list(inspect.signature(TextArea._on_key).parameters) == ["self", "event"]


def test_internal_textual_document__document_Document() -> None:
    from textual.document._document import Document

    assert Document("a\nb").line_count == 2


# -- the fall-back: a missing internal switches the fast paths off -----------------------------
def test_a_missing_internal_switches_the_fast_paths_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastpath, "_checked", False)
    monkeypatch.setattr(fastpath, "_missing", None)
    monkeypatch.setattr(fastpath, "ENABLED", True)
    monkeypatch.delattr(Screen, "_on_timer_update")
    assert fastpath.missing() == "Screen._on_timer_update"
    assert not fastpath.enabled()


async def test_a_missing_instance_internal_switches_the_echo_paint_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from tuivirt.ui.console.terminal import TerminalView

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield TerminalView(cols=20, rows=4)

    monkeypatch.setattr(fastpath, "_missing", None)
    monkeypatch.setattr(fastpath, "ENABLED", True)
    app = One()
    async with app.run_test(size=(20, 4)) as pilot:
        await pilot.pause()
        terminal = app.query_one(TerminalView)
        terminal.feed(b"x", commit=False)
        assert fastpath.paint_now(terminal, {0})  # the compositor, now (headless)
        screen: Any = app.screen
        dirty = screen._dirty_widgets
        del screen._dirty_widgets
        try:
            assert not fastpath.paint_now(terminal, {0})
        finally:
            screen._dirty_widgets = dirty
        assert fastpath.missing() == "Screen._dirty_widgets"
        assert not fastpath.enabled()


# -- thread workers ------------------------------------------------------------------------------
async def test_internal_Worker_threads_run_in_the_default_executor() -> None:
    # ui/common/workers.py makes that executor start daemon threads, so that a worker stuck on a
    # hung host never holds the exit.
    from tuivirt.ui.common.workers import use_daemon_threads

    class Idle(App[None]):
        def on_load(self) -> None:
            use_daemon_threads()

    app = Idle()
    async with app.run_test() as pilot:
        worker = app.run_worker(lambda: threading.current_thread(), thread=True)
        thread = await worker.wait()
        await pilot.pause()
        assert thread.name.startswith("tuivirt-worker-") and thread.daemon
