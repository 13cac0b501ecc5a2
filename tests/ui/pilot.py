"""Helpers shared by the pilot tests: notifications seen, waiting, the lab's app."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import Lab
from tuivirt.config import parse_config
from tuivirt.ui.app import TuivirtApp


class Notes:
    """Every notification the app shows, for assertions."""

    def __init__(self, app: TuivirtApp) -> None:
        self.items: list[tuple[str, str]] = []
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            self.items.append((message, str(kwargs.get("severity", "information"))))
            original(message, *args, **kwargs)

        app.notify = notify  # type: ignore[method-assign]

    def find(self, fragment: str, severity: str | None = None) -> bool:
        return any(fragment in m and (severity is None or s == severity)
                   for m, s in self.items)


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        await pilot.pause(0.05)
    return predicate()


async def wait_state(pilot: Any, lab: Lab, host: str, name: str, state: str,
                     timeout: float = 30.0) -> bool:
    def check() -> bool:
        return lab.domstate(host, name) == state

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if await asyncio.to_thread(check):
            return True
        await pilot.pause(0.1)
    return False


def make_app(lab: Lab, **kwargs: Any) -> TuivirtApp:
    return TuivirtApp(parse_config(lab.config_text(**kwargs), "lab.toml"))


async def ready(pilot: Any, name: str | None = None) -> None:
    app = pilot.app
    assert await until(pilot, lambda: {g.host for g in app.main.table.guests.values()}
                       >= {"local", "hostb"}), "rows of both hosts never arrived"
    if name is not None:
        assert await until(pilot, lambda: any(g.name == name
                                               for g in app.main.table.guests.values()))
        key = next(k for k, g in app.main.table.guests.items() if g.name == name)
        app.main.table.move_to_key(key)
        await pilot.pause()
        assert app.main.table.current_guest.name == name
