"""The filter box above the guest table."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input


class FilterInput(Input):
    """The filter box, tuned for typing over a big table.

    - `on_value` runs in the value watcher, in the same call as the keystroke: the table
      and the status line change before the next frame, so a key costs one frame, not one
      for the box and a second after an Input.Changed message.
    - Input sets its virtual size to the text's width on every change, and virtual_size
      is a layout reactive: each keystroke laid out the whole screen again (5-8 ms with
      the table behind it). While the text fits in the box, the width that counts for
      scrolling is the box's own, so reporting that keeps the layout unchanged.
    """

    def __init__(self, on_value: Callable[[str], None], *, placeholder: str,
                 id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self._on_value = on_value

    def watch_value(self, value: str) -> None:
        self._on_value(value)

    @property
    def content_width(self) -> int:
        return max(super().content_width, self.scrollable_content_region.width)
