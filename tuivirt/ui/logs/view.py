"""The lines of a log on screen: only the rows in view are drawn, each made inert then."""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tuivirt.backends.logs import LogRing, drop_stamp
from tuivirt.text import inert

#: The widest a line is assumed to be for horizontal scrolling (measuring every line of
#: a flood would cost more than drawing it).
MAX_WIDTH = 4096


class LogView(ScrollView, can_focus=True):
    """A ring of log lines, scrollable; the bottom is "following"."""

    DEFAULT_CSS = """
    LogView { height: 1fr; background: $surface; }
    """

    def __init__(self, ring: LogRing, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ring = ring
        self.stamps = False  # show Docker's timestamps (lines carry them: see the pane)
        self.stamped = False  # the lines start with one
        self.highlight: int | None = None  # index of the line a search found
        #: new lines scroll into view; off once the user scrolls up, on again at the end
        #: (not "scroll_y is at the bottom": a horizontal scrollbar that appears moves
        #: the bottom, and the follow would be lost for good)
        self.following = True
        self._width = 1

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value < old_value:  # only the user moves it up (jump() is silent)
            self.following = False
        if new_value >= self.max_scroll_y:
            self.following = True

    def lines_changed(self, added: list[str]) -> None:
        """After the ring grew: the new virtual size (one relayout-free update)."""
        if added:
            widest = max(map(len, added))
            if widest > self._width:
                self._width = min(MAX_WIDTH, widest)
        self.virtual_size = Size(self._width, len(self.ring))

    def jump(self, y: int) -> None:
        """Scroll to row `y` now, in this frame: `scroll_to` waits for the layout to
        show a scrollbar first, which a batch that just grew the log has not had yet."""
        y = max(0, min(y, self.max_scroll_y))
        self.set_reactive(Widget.scroll_target_y, float(y))
        self.set_scroll(None, y)
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = y
        self.refresh()

    def jump_end(self) -> None:
        self.following = True
        self.jump(self.max_scroll_y)

    def text_of(self, line: str) -> str:
        shown = line if self.stamps or not self.stamped else drop_stamp(line)
        return inert(shown)  # a log is anyone's text: never drawn as it is

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        lines = self.ring.lines
        if index >= len(lines):
            return Strip.blank(width, style)
        text = self.text_of(lines[index])
        line_style = style + Style(reverse=True) if index == self.highlight else style
        strip = Strip([Segment(text, line_style)], cell_len(text))
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(
            scroll_x, index)
