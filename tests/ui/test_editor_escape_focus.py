"""esc in the XML editor gives the keys back to the guest table, also when the host
panel (focusable since it filters) is shown: TextArea's own escape ("focus the next
widget") put them on the host list, and `c` then did nothing."""

from __future__ import annotations

from tests.ui.pilot import until
from tuivirt.config import Config, HostConfig, demo_node_path
from tuivirt.ui.app import TuivirtApp


async def test_escape_from_the_editor_focuses_the_table_with_the_host_panel_shown() -> None:
    node = demo_node_path()
    config = Config(hosts=tuple(HostConfig(name=n, libvirt=(f"test://{node}",))
                                for n in ("a", "b")))
    app = TuivirtApp(config)
    async with app.run_test(size=(140, 45)) as pilot:
        assert await until(pilot, lambda: bool(app.main.table.guests))
        assert app.main.query_one("HostPanel").display  # two hosts: the panel shows
        await pilot.press("x")
        assert await until(pilot, lambda: app.main.editor is not None
                           and app.focused is not None and app.focused.id == "ed-area", 10)
        await pilot.press("escape")
        assert await until(pilot, lambda: app.focused is app.main.table, 5), app.focused
