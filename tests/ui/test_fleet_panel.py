"""A fleet in the full-screen view, hermetic: many demo hosts (libvirt's test driver, one
[[host]] each), or fixed host statuses. The host panel (one line per host, the
unreachable first, a summary, a filter), tags in the table (tag:NAME, grouping by tag),
and a host that stops answering turning stale."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from rich.color import Color
from textual.app import App, ComposeResult
from textual.widgets import Input

from tests.ui.pilot import DEMO_GUESTS, feed, until
from tuivirt.config import Config, HostConfig, demo_node_path, parse_config
from tuivirt.inventory import Diff, HostStatus
from tuivirt.model import Guest, GuestState, HostState
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.table.host_panel import HostInfo, HostList, HostPanel, host_line, rank, summary

NOW = 1_790_000_000.0


def demo_fleet(count: int, timeout: int = 10) -> Config:
    """`count` demo hosts, n000..: rack0..rack3 by turn, every tenth also "prod"."""
    parts = [f"timeout = {timeout}\n"]
    for i in range(count):
        tags = [f"rack{i % 4}", *(["prod"] if i % 10 == 0 else [])]
        parts.append(f'[[host]]\nname = "n{i:03d}"\nlibvirt = ["test://{demo_node_path()}"]\n'
                     f"tags = {tags!r}\n".replace("'", '"'))
    return parse_config("".join(parts), "fleet.toml")


def panel_of(app: TuivirtApp) -> HostPanel:
    return app.main.query_one(HostPanel)


async def open_panel(pilot: Any) -> HostPanel:
    """h until the panel shows with the keys (it shows at start, the table has them)."""
    app: TuivirtApp = pilot.app
    panel = panel_of(app)
    if panel.display:
        await pilot.press("h")
    await pilot.press("h")
    await pilot.pause()
    assert panel.display and isinstance(app.focused, HostList)
    return panel


async def test_a_hundred_and_twenty_demo_hosts_one_line_each_filtered_by_typing(
        state_home: object) -> None:
    app = TuivirtApp(demo_fleet(120))
    async with app.run_test(size=(140, 40)) as pilot:
        assert await until(pilot, lambda: len(app.main.table.guests) == 120 * DEMO_GUESTS,
                           60), len(app.main.table.guests)
        panel = await open_panel(pilot)
        assert await until(pilot, lambda: panel.text().startswith(
            "120 hosts: 120 up, 0 degraded, 0 lost, 0 stale"), 10), panel.text()[:200]
        lines = panel.lines()
        assert [x.name for x in lines] == sorted(f"n{i:03d}" for i in range(120))
        assert {x.guests for x in lines} == {str(DEMO_GUESTS)}
        # Each host's round trip, measured by its session (the watchdog publishes them).
        assert await until(pilot, lambda: all(x.latency.endswith("s")
                                              for x in panel.lines()), 10), panel.text()
        # / in the panel filters hosts (the table's filter stays as it was).
        await pilot.press("slash")
        assert isinstance(app.focused, Input) and app.focused.id == "host-filter"
        await pilot.press(*"n01", "enter")
        await pilot.pause()
        assert [x.name for x in panel.lines()] == [f"n{i:03d}" for i in range(10, 20)]
        assert "10 shown (filter: n01)" in panel.text()
        assert not app.main.table.filter and isinstance(app.focused, HostList)
        await pilot.press("slash", *"n01 #prod", "enter")  # words as in the table: tags
        await pilot.pause()
        assert [x.name for x in panel.lines()] == ["n010"]
        await pilot.press("slash", "escape")  # esc clears it
        await pilot.pause()
        assert len(panel.lines()) == 120
        await pilot.press("escape")  # esc again: the panel goes, the table has the keys
        assert not panel.display and app.focused is app.main.table


async def test_tag_filter_and_grouping_by_tag(state_home: object) -> None:
    app = TuivirtApp(demo_fleet(20))
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.main.table
        assert await until(pilot, lambda: len(table.guests) == 20 * DEMO_GUESTS, 30)
        await pilot.press("slash", *"tag:prod", "enter")
        await pilot.pause()
        assert {g.host for g in table.guests.values() if g.key in table.rows} == \
            {"n000", "n010"}
        await pilot.press("escape")
        await pilot.press("slash", *"tag:rack1 !tag:prod", "enter")
        await pilot.pause()
        assert {table.guests[k].host for k in table.rows} == {"n001", "n005", "n009",
                                                              "n013", "n017"}
        await pilot.press("escape")
        # H: by host, then by tag, then no groups.
        await pilot.press("H")
        assert table.group_by == "host"
        await pilot.press("H")
        await pilot.pause()
        status = str(app.main.query_one("#status").render())
        assert table.group_by == "tag" and "grouped by tag" in status
        headings = [k[2:] for k in table.rows if k.startswith("\0#")]
        assert headings == ["prod", "rack0", "rack1", "rack2", "rack3"]
        under: dict[str, set[str]] = {}
        heading = ""
        for key in table.rows:
            if key.startswith("\0#"):
                heading = key[2:]
            else:
                under.setdefault(heading, set()).add(table.guests[key].host)
        assert under["prod"] == {"n000", "n010"}
        assert under["rack0"] == {f"n{i:03d}" for i in range(0, 20, 4)}
        # n000's guests show under prod and rack0; marked once, acted on once.
        await pilot.press("j", "space")  # the first row under "prod"
        target = table.targets()
        assert len(target) == 1 and target[0].host == "n000"
        assert table.rows.count(target[0].key) == 2
        assert table.visible_count() == 20 * DEMO_GUESTS
        await pilot.press("H")
        await pilot.pause()
        assert table.group_by == ""


def test_panel_order_words_and_summary() -> None:
    now = 1_790_000_000.0
    statuses = {
        "up": HostStatus("up", HostState.CONNECTED, since=now - 300, latency_ms=2.3),
        "deg": HostStatus("deg", HostState.DEGRADED, "docker: refused", since=now - 60),
        "lost": HostStatus("lost", HostState.LOST, "no route", since=now - 30),
        "stale": HostStatus("stale", HostState.CONNECTED, since=now - 900, confirmed=now - 42,
                            silent=("qemu:///system",), latency_ms=1500.0),
    }
    order = sorted(statuses, key=lambda n: (rank(statuses[n]), n))
    assert order == ["lost", "stale", "deg", "up"]
    line = host_line(HostInfo("stale", tags=("rack1",)), statuses["stale"], 7, now)
    assert (line.state, line.latency, line.guests, line.since) == ("stale", "1.5s", "7",
                                                                   "silent 42s")
    assert "#rack1" in line.note and "qemu:///system" in line.note and line.dim
    up = host_line(HostInfo("up"), statuses["up"], 3, now)
    assert (up.state, up.latency, up.since, up.dim) == ("connected", "2.3ms", "5m ago", False)
    assert summary([*statuses.values(), None]) == \
        "5 hosts: 1 up, 1 degraded, 1 lost, 1 stale, 1 connecting"


async def test_panel_lines_follow_each_change_and_are_made_once_per_change() -> None:
    """The 1 s timer finds most hosts as they were: their lines are reused, and any change
    (status, guest count, the minute of "since") shows at the next tick."""
    now = 1_790_000_000.0
    guests = ["a", "a", "b"]

    class PanelApp(App[None]):
        def compose(self) -> ComposeResult:
            yield HostPanel([HostInfo("a"), HostInfo("b")], guest_hosts=lambda: guests,
                            clock=lambda: now)

    async with PanelApp().run_test() as pilot:
        panel = pilot.app.query_one(HostPanel)
        panel.apply(Diff(hosts=(HostStatus("a", HostState.CONNECTED, since=now - 90),
                                HostStatus("b", HostState.CONNECTED, since=now - 30))))
        first = panel.lines(now)
        assert [(x.name, x.guests, x.since) for x in first] == [("a", "2", "1m ago"),
                                                               ("b", "1", "<1m ago")]
        again = panel.lines(now + 1)
        assert again[0] is first[0] and again[1] is first[1]  # nothing new: nothing made
        assert panel.lines(now + 31)[1].since == "1m ago"  # b's minute turned
        guests.append("b")
        added = Guest(host="b", kind="kvm", name="vm", id="b-1", state=GuestState.RUNNING,
                      endpoint="qemu:///system", vcpus=1, memory_mib=64)
        panel.apply(Diff(added=(added,), hosts=(
            HostStatus("a", HostState.LOST, "no route", since=now + 40),)))
        lost, b = panel.lines(now + 41)
        assert (lost.name, lost.state, lost.since, b.guests) == ("a", "lost", "<1m ago", "2")


def mixed_fleet(count: int) -> tuple[Config, Diff]:
    """`count` hosts in every state, fixed: a lost one in 7, stale one in 11, degraded
    one in 5, connecting one in 13 (first match wins), the rest up; 2 guests each."""
    hosts, statuses, guests = [], [], []
    for i in range(count):
        name = f"kvm-{i:03d}"
        hosts.append(HostConfig(name=name, libvirt=("qemu:///system",),
                                tags=(f"rack{i % 3}",), read_only=i % 17 == 0))
        since = NOW - 60 * (i % 50)
        if i % 7 == 0:
            status = HostStatus(name, HostState.LOST, "keepalive timed out", since=since)
        elif i % 11 == 0:
            status = HostStatus(name, HostState.CONNECTED, since=since, latency_ms=4.0,
                                confirmed=NOW - 20 - i % 40, silent=("qemu:///system",))
        elif i % 5 == 0:
            status = HostStatus(name, HostState.DEGRADED, "unix:///run/docker.sock: refused",
                                since=since, latency_ms=1.2 * i)
        elif i % 13 == 0:
            status = HostStatus(name, HostState.CONNECTING, since=since)
        else:
            status = HostStatus(name, HostState.CONNECTED, since=since, latency_ms=0.4 * i)
        statuses.append(status)
        for n in range(2):
            guests.append(Guest(host=name, kind="kvm", name=f"vm{n}", id=f"{name}-{n}",
                                state=GuestState.RUNNING, endpoint="qemu:///system",
                                vcpus=1, memory_mib=512))
    return Config(hosts=tuple(hosts)), Diff(added=tuple(guests), hosts=tuple(statuses))


def fixed_fleet_app(count: int) -> TuivirtApp:
    config, diff = mixed_fleet(count)
    app = TuivirtApp(config, start_sessions=False, clock=lambda: NOW)
    app._fixed_diff = diff  # type: ignore[attr-defined]
    return app


async def test_three_hundred_hosts_sorted_unreachable_first_and_scrolled_to_the_end(
        state_home: object) -> None:
    app = fixed_fleet_app(300)
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        panel = await open_panel(pilot)
        lines = panel.lines()
        assert len(lines) == 300
        order = [x.state for x in lines]
        groups = ["lost", "connecting", "stale", "degraded", "connected"]
        # lost and connecting share the first place (unconfirmed), then by name
        first = [s for s in order if s in ("lost", "connecting")]
        assert order[:len(first)] == first
        rest = order[len(first):]
        assert rest == sorted(rest, key=groups.index)
        summary = panel.text().splitlines()[0]
        assert summary == "300 hosts: 173 up, 46 degraded, 43 lost, 24 stale, 14 connecting"
        # One widget for 300 lines; G reaches the last host, drawn on screen.
        assert len(list(panel.query("*"))) < 10
        start = time.perf_counter()
        await pilot.press("G")
        await pilot.pause()
        elapsed = time.perf_counter() - start
        host_list = panel.host_list
        assert host_list.cursor == 299
        last = lines[-1].name
        drawn = [host_list.render_line(y).text for y in range(host_list.size.height)]
        assert any(last in line for line in drawn), drawn
        assert elapsed < 1.0, f"G over 300 hosts took {elapsed:.2f} s"
        # The lost host's line is dimmed, says why; a stale one since when.
        lost = next(x for x in lines if x.state == "lost")
        assert lost.dim and "keepalive timed out" in lost.note
        stale = next(x for x in lines if x.state == "stale")
        assert stale.dim and stale.since.startswith("silent ")


async def test_stale_hosts_rows_are_dimmed_as_a_lost_hosts(state_home: object) -> None:
    app = fixed_fleet_app(30)
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        table = app.main.table
        stale = next(g for g in table.guests.values() if g.host == "kvm-011")
        up = next(g for g in table.guests.values() if g.host == "kvm-001")
        assert table._stale(stale) and not table._stale(up)
        text, _style = table._cell(stale, "state", NOW, table._base_style(), True)
        assert text == "? running"


@pytest.fixture()
def quick_stale(monkeypatch: pytest.MonkeyPatch) -> float:
    """Probes every 0.5 s and a 2 s bound, instead of 5 s and 15 s."""
    monkeypatch.setattr("tuivirt.session.connection.STATS_EVERY", 0.5)
    monkeypatch.setattr("tuivirt.session.core.STALE_AFTER", 2.0)
    return 2.0


async def test_a_demo_host_that_stops_answering_turns_stale_then_fresh(
        state_home: object, quick_stale: float) -> None:
    # timeout 60: the deadline would mark it down only after a minute; staleness is
    # what tells the user before that.
    app = TuivirtApp(demo_fleet(3, timeout=60))
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.main.table
        assert await until(pilot, lambda: len(table.guests) == 3 * DEMO_GUESTS, 30)
        session = app.fleet.session("n001")
        endpoint = session.libvirt[0]
        release = threading.Event()
        probe = endpoint.probe

        def hung() -> None:  # as a SIGSTOPped daemon: the probe does not return
            release.wait(30)
            probe()

        endpoint.probe = hung  # type: ignore[method-assign]
        rows = [g for g in table.guests.values() if g.host == "n001"]
        others = [g for g in table.guests.values() if g.host != "n001"]
        panel = panel_of(app)
        try:
            assert await until(pilot, lambda: all(table._stale(g) for g in rows), 15), \
                "a host silent past the bound still showed confirmed rows"
            assert not any(table._stale(g) for g in others)
            line = next(x for x in panel.lines() if x.name == "n001")
            assert line.state == "stale" and line.since.startswith("silent ")
            assert panel.lines()[0].name == "n001"  # the unreachable first
            assert "1 stale" in panel.text().splitlines()[0]
        finally:
            release.set()
        assert await until(pilot, lambda: not any(table._stale(g) for g in rows), 10), \
            "the host answered again but its rows stayed stale"
        line = next(x for x in panel.lines() if x.name == "n001")
        assert line.state == "connected"


def test_snapshot_host_panel_of_a_mixed_fleet(snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await feed(pilot)
        await open_panel(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(fixed_fleet_app(24), run_before=run_before, terminal_size=(130, 36))


async def test_a_panel_repaint_does_not_generate_the_theme_for_every_line(
        state_home: object) -> None:
    # Each line drawn asked for the theme's colours, which Textual generates anew each
    # time (~1.4 ms): with 100 SSH hosts' latencies moving, that was a quarter of the
    # idle UI thread. The colours still follow a change of theme.
    app = fixed_fleet_app(60)
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        host_list = panel_of(app).host_list
        calls = []
        generate = app.get_css_variables

        def counted() -> dict[str, str]:
            calls.append(1)
            return generate()

        app.get_css_variables = counted  # type: ignore[method-assign]
        lost_row = 1 + next(i for i, x in enumerate(host_list.lines) if x.state == "lost")

        def lost_colour() -> str | None:
            segment = host_list.render_line(lost_row - round(host_list.scroll_y))
            state = next(s for s in segment if "lost" in s.text)
            return str(state.style.color.triplet) if state.style and state.style.color \
                else None

        before = lost_colour()
        for y in range(host_list.size.height):
            host_list.render_line(y)
        assert len(calls) <= 1, len(calls)
        app.theme = "tuivirt-light" if app.theme != "tuivirt-light" else "tuivirt-dark"
        await pilot.pause()
        after = lost_colour()
        assert after is not None and after != before and \
            after == str(Color.parse(generate()["error"]).triplet)


async def test_a_host_whose_latency_moved_repaints_its_own_line_only(
        state_home: object) -> None:
    # With 100 SSH hosts a latency or two moves every second; the panel repainted all
    # its lines each time. Now only the moved host's line is drawn again, and it shows
    # the new figure.
    app = fixed_fleet_app(12)  # every line in sight
    async with app.run_test(size=(140, 40)) as pilot:
        await feed(pilot)
        panel = panel_of(app)
        host_list = panel.host_list
        await pilot.pause(0.2)
        drawn: list[int] = []
        draw = host_list.render_line

        def counted(y: int) -> Any:
            drawn.append(y)
            return draw(y)

        host_list.render_line = counted  # type: ignore[method-assign]
        row = next(i for i, x in enumerate(host_list.lines)
                   if x.state == "connected" and i > 2)
        name = host_list.lines[row].name
        panel.apply(Diff(hosts=(dataclasses.replace(panel.statuses[name],
                                                    latency_ms=987.0),)))
        y = row + 1 - round(host_list.scroll_y)
        assert await until(pilot, lambda: y in drawn)
        await pilot.pause(0.2)
        assert set(drawn) == {y}, drawn
        assert "987" in "".join(s.text for s in draw(y))
        # A host lost moves up among the lost: every line between where it was and
        # where it is now is drawn again, with what it shows now.
        drawn.clear()
        panel.apply(Diff(hosts=(HostStatus(name, HostState.LOST, "gone", since=NOW),)))
        new_row = next(i for i, x in enumerate(host_list.lines) if x.name == name)
        moved = set(range(new_row + 1, row + 2))  # the lines between, as drawn (+1 header)
        assert new_row < row
        assert await until(pilot, lambda: moved <= set(drawn), timeout=5), drawn
        assert "lost" in "".join(s.text for s in draw(new_row + 1))
