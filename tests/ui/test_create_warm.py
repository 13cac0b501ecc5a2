"""`n`, VM: the hosts the user may pick are asked ahead what they offer (the form then
opens from memory), but not a whole fleet: past WARM_MAX hosts only the chosen one is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.pilot import until
from tuivirt.config import Config, HostConfig, demo_node_path
from tuivirt.session.host import HostSession
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.dialogs import ChoiceScreen
from tuivirt.ui.create.flow import WARM_MAX


@pytest.mark.parametrize("hosts", [2, WARM_MAX + 12])
async def test_n_asks_ahead_only_a_few_hosts(hosts: int, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    original = HostSession.vm_offer

    def vm_offer(self: HostSession, **kwargs: Any) -> Any:
        asked.append(self.name)
        return original(self, **kwargs)

    monkeypatch.setattr(HostSession, "vm_offer", vm_offer)
    node = demo_node_path()
    app = TuivirtApp(Config(hosts=tuple(HostConfig(name=f"h{i:02d}",
                                                   libvirt=(f"test://{node}",))
                                        for i in range(hosts))))
    async with app.run_test(size=(140, 45)) as pilot:
        assert await until(pilot, lambda: len({g.host for g in app.main.table.guests.values()})
                           == hosts)
        await pilot.press("n")
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("enter")  # VM
        assert await until(pilot, lambda: isinstance(app.screen, ChoiceScreen)
                           and app.screen.title_text.endswith("on which host?"))
        await pilot.pause(0.5)
        expected = hosts if hosts <= WARM_MAX else 0
        assert await until(pilot, lambda: len(asked) >= expected, 5)
        assert len(asked) == expected, asked
