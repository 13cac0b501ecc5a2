"""The messages between the fleet, the screens and the app."""

from __future__ import annotations

from collections.abc import Sequence

from textual.message import Message

from tuivirt.inventory import Diff
from tuivirt.model import Guest


class InventoryChanged(Message):
    """Posted from session threads: the inventory changed (the app republishes it on
    its `fleet_changed` signal, which screens subscribe to)."""

    def __init__(self, diff: Diff) -> None:
        self.diff = diff
        super().__init__()


class ActionRequested(Message):
    """A screen asks for a lifecycle action on guests; the app plans, confirms and runs
    it (actions.plan). `action` is an Action's value or PAUSE_TOGGLE."""

    def __init__(self, action: str, targets: Sequence[Guest]) -> None:
        self.action = action
        self.targets = list(targets)
        super().__init__()

