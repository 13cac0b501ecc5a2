"""SVG snapshots of the main screen, fed fixed data (no daemons, no clocks, no blinking)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from tests.ui.pilot import DOMAIN_XML, feed, fixed_app


def test_main_screen_wide(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(), run_before=feed, terminal_size=(140, 30))


def test_main_screen_80x24(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(), run_before=feed, terminal_size=(80, 24))


def test_light_theme(snap_compare: Any) -> None:
    assert snap_compare(fixed_app(theme="tuivirt-light"), run_before=feed,
                        terminal_size=(120, 26))


def test_filter_active(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("slash")
        pilot.app.query_one("#filter", Input).cursor_blink = False
        await pilot.press(*"kind:kvm !state:shutoff")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 26))


def test_filter_invalid_regex(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("slash")
        pilot.app.query_one("#filter", Input).cursor_blink = False
        await pilot.press(*"web(")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 26))


def test_confirm_destroy_of_marked_guests(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("space", "space", "j", "space", "D")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 30))


def test_help_screen(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(100, 34))


def test_lost_host_rows_are_stale(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(fixed_app(lost=True), run_before=run_before, terminal_size=(140, 30))


def test_grouped_by_host(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await pilot.press("H")
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 30))


def _editor(text: str) -> Any:
    from tuivirt.model import DefinitionRef
    from tuivirt.ui.editor.xml_editor import EditorPane

    ref = DefinitionRef("local", "domain", "web-frontend", "qemu:///system",
                        "00000000-0000-4000-8000-000000000000")
    return EditorPane(None, ref=ref, base=DOMAIN_XML, text=text)


def test_editor_with_an_error_marked(snap_compare: Any, state_home: Any) -> None:
    broken = DOMAIN_XML.replace("<vcpu placement='static'>2</vcpu>",
                                "<vcpu placement='static'>4</vpcu>")

    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        pilot.app.main.show_editor(_editor(broken))
        await pilot.pause()
        await pilot.pause()
        pane = pilot.app.main.editor
        pane.area.cursor_blink = False
        pane.area.move_cursor((4, 0))
        await pilot.pause()
        assert pane.problem is not None and pane.problem.line == 5

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(150, 34))


def test_diff_before_apply(snap_compare: Any, state_home: Any) -> None:
    from tuivirt import xmltools
    from tuivirt.ui.common.dialogs import DiffScreen

    edited = DOMAIN_XML.replace("2097152", "4194304").replace(">2</vcpu>", ">4</vcpu>")

    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        diff = xmltools.unified_diff(DOMAIN_XML, edited, "defined on local", "your buffer")
        pilot.app.push_screen(DiffScreen(
            "Apply these changes to local/web-frontend?", diff,
            note="The previous definition is kept as a backup (ctrl+r lists them)."))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 34))


def test_networks_view(snap_compare: Any) -> None:
    from tests.ui.pilot import fixed_config
    from tuivirt.model import Network
    from tuivirt.ui.networks.screen import NetworksScreen

    networks = [
        Network("local", "default", "u1", True, True, True, "virbr0", "qemu:///system",
                ("192.168.122.1/24 dhcp 192.168.122.2-192.168.122.254",)),
        Network("local", "isolated", "u2", False, False, True, "virbr1", "qemu:///system",
                ("10.10.0.1/24",)),
        Network("prod", "storage", "u3", True, True, True, "br-storage",
                "qemu+ssh://root@prod/system", ("fd00:10::1/64",)),
        Network("rack2", "transient-lab", "u4", True, False, False, "virbr9",
                "qemu:///system", ()),
    ]

    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        pilot.app.push_screen(NetworksScreen(fixed_config(), networks=networks,
                                             autoload=False))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 20))


def test_storage_view(snap_compare: Any) -> None:
    from tests.ui.pilot import fixed_config
    from tuivirt.model import Pool, Volume
    from tuivirt.ui.storage.screen import StorageScreen

    gib = 1024**3
    pools = [
        Pool("local", "default", "p1", "dir", True, True, True, 500 * gib, 132 * gib,
             368 * gib, "/var/lib/libvirt/images"),
        Pool("local", "isos", "p2", "dir", False, False, True, 0, 0, 0, "/srv/isos"),
        Pool("prod", "ssd", "p3", "logical", True, True, True, 2048 * gib, 1900 * gib,
             148 * gib, "/dev/ssd"),
    ]
    images = "/var/lib/libvirt/images/"
    volumes = {("local", "default"): [
        Volume("local", "default", "base-debian12.qcow2", images + "base-debian12.qcow2",
               "qcow2", 10 * gib, 2 * gib),
        Volume("local", "default", "db-primary.qcow2", images + "db-primary.qcow2",
               "qcow2", 40 * gib, 12 * gib, images + "base-debian12.qcow2",
               ("db-primary",)),
        Volume("local", "default", "shared.raw", images + "shared.raw", "raw", 8 * gib,
               8 * gib, None, ("web-frontend", "web-backend")),
        Volume("local", "default", "scratch.img", images + "scratch.img", "raw", 4 * gib,
               512 * 1024**2),
    ]}

    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        pilot.app.push_screen(StorageScreen(
            fixed_config(), pools=pools, volumes=volumes, autoload=False,
            errors={"rack2": "lost keepalive timed out (host not answering)"}))
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(fixed_app(), run_before=run_before, terminal_size=(120, 24))
