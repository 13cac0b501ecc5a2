"""The console's fast paths past Textual's usual route, and every Textual internal they use.

A keystroke's round trip through `tuivirt console` (tests/bench/bench_console.py, the lab's
tiny QEMU guest, virsh's median ~5.0 ms) measured 1.17-1.18x `virsh console` with these
paths and 1.28-1.34x on Textual's plain route (medians 5.9 ms vs 6.3-7.0 ms). Each path
is optional: with `TUIVIRT_FASTPATH=0` in the environment (or `ENABLED = False`), or when
an internal below is missing (checked once, at the first use), every one of them takes
Textual's plain route instead and the console works the same, only slower.

The paths (nothing else in tuivirt touches a Textual internal, except the XML editor's
`TextArea._on_key` and `Document` import; tests/unit/test_textual_internals.py checks all
of them by name, so an upgrade of Textual fails there first):

1. Keys from the input thread (`InputRoute`, `console_driver`): a key otherwise crosses
   the app's queue, the priority bindings and the widget's queue before it is sent:
   ~0.9 ms of a keystroke. The driver hands keys and pastes to an armed terminal first.
   Plain route: every key is posted to the app as Textual does.
2. Small frames written by the UI thread (`console_driver`, `_CountingFile`): when the
   writer thread has nothing queued or in hand, a frame under `DIRECT_WRITE` bytes is
   written at once instead of handed over (~0.45 ms: the writer thread waited for the UI
   thread to let go of the GIL). Plain route: Textual's writer thread writes every frame.
3. Echo paint (`paint_now`): an echo otherwise goes widget -> Update message -> screen
   idle -> frame timer -> timer event -> compositor: ~1.5 ms of a keystroke. Up to
   `DIRECT_ROWS` changed lines are rendered (Textual's own line rendering and filters) and
   written where they are on screen when nothing covers them; otherwise the compositor
   is asked now what its frame timer would ask. Plain route: `refresh()` and the frame.
4. Wake-ups from a transport's thread (`Waker`): an event-loop callback in the app's
   context instead of a message through the pane's queue: ~0.2 ms an echo. Plain route:
   a message posted to the pane.

The driver also watches for a hung-up terminal (not a fast path: always on).

The internals, what for (`INTERNALS` lists them for the check and the tests):
- `App._driver`: the driver to write an echo's lines to (3).
- `App._batch_count`: no direct paint inside `batch_update` (3).
- `Widget._layout_required`, `Widget._scroll_required`, `Widget._recompose_required`
  (the screen's and the terminal's): no direct paint while a layout is pending (3).
- `Widget._repaint_required`: cleared when the compositor paints the terminal now (3).
- `Screen._dirty_widgets`, `Screen._on_timer_update`: the frame timer's work, now (3).
- `Screen._compositor` and its `visible_widgets` ({widget: (region, clip)}, front first):
  where the terminal is, and whether anything is in front of it (3).
- `Driver._app`: the app whose input route a key takes (1), and which a hang-up exits.
- `LinuxDriver._file`, handed by `start_application_mode` to its `WriterThread` (kept
  as `_writer_thread`), which only calls `write` and `flush` on it (2).
- `LinuxDriver.fileno`, `LinuxDriver.exit_event`: the hang-up watch.
- Textual's context variables (`active_app`...): a callback from `Waker` runs in a copy
  of the app's context, as Textual's own callbacks do (4).
- A Textual event takes an extra attribute (`input_number`, set by the driver) (1).
- `Widget._on_key` (overridden by `TerminalView`): guest keys never reach the bindings.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import select
import threading
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from rich.control import Control
from textual import events
from textual.message import Message
from textual.message_pump import MessagePump
from textual.widget import Widget

#: Set TUIVIRT_FASTPATH=0 (or this to False before the app starts) for the plain route.
ENABLED = os.environ.get("TUIVIRT_FASTPATH", "1").strip().lower() not in ("0", "no", "off",
                                                                          "false")
DIRECT_ROWS = 4  # lines an echo paint writes itself; more: the compositor's job
DIRECT_WRITE = 2048  # bytes: frames this small skip the writer thread when it is idle

#: (owner, attribute, kind): every internal the paths use. Kind "class": on the class;
#: "instance": set in __init__, checked on the first instance used.
INTERNALS: tuple[tuple[str, str, str], ...] = (
    ("App", "_driver", "instance"),
    ("App", "_batch_count", "instance"),
    ("Widget", "_layout_required", "instance"),
    ("Widget", "_scroll_required", "instance"),
    ("Widget", "_recompose_required", "instance"),
    ("Widget", "_repaint_required", "instance"),
    ("Screen", "_dirty_widgets", "instance"),
    ("Screen", "_on_timer_update", "class"),
    ("Screen", "_compositor", "instance"),
    ("Compositor", "visible_widgets", "class"),
    ("Driver", "_app", "instance"),
    ("LinuxDriver", "_file", "instance"),
    ("LinuxDriver", "_writer_thread", "instance"),
    ("WriterThread", "_file", "instance"),
    ("LinuxDriver", "fileno", "instance"),
    ("LinuxDriver", "exit_event", "instance"),
    ("Widget", "_on_key", "class"),
)

_missing: str | None = None  # the first internal found missing: the plain route from then
_checked = False


def missing() -> str | None:
    """The first internal the paths need that this Textual lacks (class level; the
    instance attributes are checked on the first objects used), else None."""
    global _checked, _missing
    if not _checked:
        _checked = True
        from textual._compositor import Compositor
        from textual.screen import Screen

        for owner, name in ((Screen, "_on_timer_update"), (Compositor, "visible_widgets"),
                            (Widget, "_on_key")):
            if not hasattr(owner, name):
                _missing = _missing or f"{owner.__name__}.{name}"
    return _missing


def _lacks(obj: object, *names: str) -> bool:
    """True (and the fast paths off from now on) if `obj` lacks one of `names`."""
    global _missing
    for name in names:
        if not hasattr(obj, name):
            _missing = _missing or f"{type(obj).__name__}.{name}"
            return True
    return False


def enabled() -> bool:
    return ENABLED and missing() is None


# -- 3. echo paint -------------------------------------------------------------------------
def paint_now(widget: Widget, rows: set[int] | None) -> bool:
    """Draw the terminal's changed `rows` (None: all) now; False: left to the usual frame.
    (`widget`: a TerminalView: `render_line`, `commit`, `plain_background`.)

    The caller has asked for the usual repaint as well, so nothing depends on this
    beyond latency; any surprise from Textual leaves the frame to paint."""
    if not enabled():
        return False
    try:
        return _paint(widget, rows)
    except Exception:  # a Textual that changed: the regular frame paints instead
        widget.refresh()
        return False


def _paint(widget: Widget, rows: set[int] | None) -> bool:
    screen: Any = widget.screen
    app: Any = widget.app
    painter: Any = widget
    if _lacks(app, "_batch_count", "_driver") or _lacks(
            screen, "_layout_required", "_scroll_required", "_recompose_required",
            "_dirty_widgets", "_compositor") or _lacks(widget, "_layout_required",
                                                        "_repaint_required"):
        return False
    if (screen is not app.screen or app._batch_count or not widget.display
            or screen._layout_required or screen._scroll_required
            or screen._recompose_required or painter._layout_required):
        return False
    if rows is not None and len(rows) <= DIRECT_ROWS \
            and _paint_rows(painter, sorted(rows), screen, app):
        return True
    painter.commit()  # what the frame timer would do, now
    painter._repaint_required = False
    screen._dirty_widgets.add(widget)
    screen._on_timer_update()
    return True


def _paint_rows(widget: Any, rows: list[int], screen: Any, app: Any) -> bool:
    """Write these lines straight to the terminal, if nothing is in front of them."""
    driver = app._driver
    if driver is None or driver.is_inline or driver.is_headless:
        return False
    visible = screen._compositor.visible_widgets
    place = visible.get(widget)
    if place is None or not place[1].contains_region(place[0]):
        return False  # not on screen, or partly clipped
    region = place[0]
    for other, (_region, clip) in visible.items():
        if other is widget:
            break
        if clip.overlaps(region):
            return False  # a toast, a menu, a dialog in front of it
    background = widget.plain_background()
    if background is None:
        return False  # a border, padding, tint or opacity: Textual's to draw
    filters = app.get_line_filters()
    out: list[str] = []
    move_to = Control.move_to
    for y in rows:
        if y >= region.height:
            continue
        strip = widget.render_line(y)
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, background)
        out.append(move_to(region.x, region.y + y).segment.text)
        out.append(strip.render(app.console))
    if not out:
        return True
    cursor = screen.outer_size.clamp_offset(app.cursor_position)
    out.append(move_to(*cursor).segment.text)
    driver.write("".join(out))
    return True


# -- 4. wake-ups from other threads --------------------------------------------------------
class Waker:
    """(Made on the UI thread.) Lets another thread have `fast()` run on the UI thread
    soon, never blocking it: an event-loop callback in the app's context; on the plain
    route the message `plain()` makes is posted to `node` instead."""

    def __init__(self, node: MessagePump) -> None:
        self.node = node
        self.fast = enabled()
        self._loop = asyncio.get_running_loop()
        self._context = contextvars.copy_context()  # the app's, as Textual's callbacks

    def wake(self, fast: Callable[[], object], plain: Callable[[], Message]) -> None:
        if self.fast:
            self._loop.call_soon_threadsafe(fast, context=self._context)
        else:
            self.node.post_message(plain())


# -- 1. keys from the input thread ---------------------------------------------------------
class KeySink(Protocol):
    def take_input(self, event: Any) -> bool:
        """(The input thread.) True if the event's bytes went to the guest."""
        ...


_ORDERED = (events.Key, events.Paste, events.MouseEvent)  # what a sink orders


class InputRoute:
    """One app's route for input: an armed sink takes it from the input thread.

    Anything a sink does not take disarms it first and goes the usual way, so what
    follows can never overtake it; the UI thread re-arms a sink only once the newest
    input event posted the usual way has been handled (the driver numbers them), so none
    is still queued behind it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # the input thread's numbering vs arming
        self.sink: KeySink | None = None
        self.posted = 0  # the number of the newest key, paste or click posted as usual

    def arm(self, sink: KeySink, event: Any) -> bool:
        """(The UI thread, handling `event`.) Give `sink` the input thread's keys."""
        if not enabled():
            return False
        with self.lock:
            if getattr(event, "input_number", None) != self.posted:
                return False  # more input is queued behind this one: it arms, when handled
            self.sink = sink
            return True

    def disarm(self, sink: KeySink) -> None:
        if self.sink is sink:
            self.sink = None

    def route(self, message: Any) -> bool:
        """(The input thread.) True if a sink took `message`; else it is numbered."""
        if not isinstance(message, _ORDERED) or isinstance(message, events.MouseMove):
            return False
        with self.lock:
            sink = self.sink
            if sink is not None and sink.take_input(message):
                return True
            self.posted += 1
            numbered: Any = message  # a Textual event takes an attribute
            numbered.input_number = self.posted
        return False


def input_route(app: Any) -> InputRoute | None:
    route = getattr(app, "input_route", None)
    return route if isinstance(route, InputRoute) else None


# -- 1, 2 and the hang-up watch: the driver ----------------------------------------------
class _CountingFile:
    """The writer thread's file, counting its writes: the UI thread can then tell that
    nothing is queued or half-written and write a small frame itself."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.lock = threading.Lock()
        self.written = 0  # incremented by the writer thread only

    def write(self, text: str) -> None:
        with self.lock:
            self.file.write(text)
        self.written += 1

    def flush(self) -> None:
        with self.lock:
            self.file.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.file, name)


_DRIVERS: dict[type[Any], type[Any]] = {}


def console_driver(base: type[Any]) -> type[Any]:
    """The platform's driver, with the input and output fast paths (when enabled at the
    start of application mode) and the hang-up watch (always).

    A stalled terminal blocks the UI thread either way: Textual's writer queue holds 30
    frames."""
    driver = _DRIVERS.get(base)
    if driver is None:
        class ConsoleDriver(base):  # type: ignore[misc]
            _out: _CountingFile | None = None
            _queued = 0
            _route: InputRoute | None = None

            def process_message(self, message: Any) -> None:
                route = self._route
                if route is not None and route.route(message):
                    return
                super().process_message(message)

            def start_application_mode(self) -> None:
                app = getattr(self, "_app", None)
                file = getattr(self, "_file", None)  # LinuxDriver's output
                if enabled():
                    self._route = input_route(app)
                    if file is not None:
                        self._out = _CountingFile(file)
                        self._file = self._out
                super().start_application_mode()
                fileno = getattr(self, "fileno", None)
                if isinstance(fileno, int) and app is not None:
                    threading.Thread(target=self._watch_hangup,
                                     args=(fileno, asyncio.get_running_loop(), app),
                                     name="tty-hangup", daemon=True).start()

            def _watch_hangup(self, fileno: int, loop: asyncio.AbstractEventLoop,
                              app: Any) -> None:
                """The terminal gone without a SIGHUP (no controlling terminal, or
                SIGHUP ignored): Textual's input thread would read EOF in a loop at
                100 % of a core, forever. Quit instead. Blocks in poll: no wake-ups."""
                poller = select.poll()
                poller.register(fileno, 0)  # only POLLHUP, POLLERR, POLLNVAL
                try:
                    poller.poll()
                except OSError:
                    return
                exit_event = getattr(self, "exit_event", None)
                if exit_event is None or not exit_event.is_set():
                    loop.call_soon_threadsafe(partial(app.exit, return_code=1,
                                                      message="tuivirt: terminal hung up"))

            def write(self, data: str) -> None:
                out = self._out
                if (out is not None and len(data) <= DIRECT_WRITE
                        and out.written == self._queued
                        and out.lock.acquire(blocking=False)):
                    try:
                        out.file.write(data)
                        out.file.flush()
                        return
                    except OSError:
                        pass  # the writer thread meets it too, and Textual handles it
                    finally:
                        out.lock.release()
                self._queued += 1
                super().write(data)

        driver = _DRIVERS[base] = ConsoleDriver
    return driver
