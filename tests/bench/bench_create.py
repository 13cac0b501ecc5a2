"""Benchmark: opening the new-VM form (`n`, VM, the host) on the lab's hosts.

Target (issue 13): the new-guest dialog on screen <= 100 ms after the key that asks for it.
Measured in-process (headless), from the `enter` that picks the host to the form drawn
with its fields. `n` asks every VM host what it offers while the user picks (the kind,
then the host: a think time of THINK seconds is left between the choices, as a person
takes); the references in the same run are the form with that memory switched off (pools
and networks listed after the key, as before: what the warm-up buys), and the one-line
kind chooser after `n` (what any Textual dialog costs here, driven the same way).
Without the lab, the demo host (libvirt's test driver) is measured alone.
Run: python tests/bench/bench_create.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.bench_ui import Terminal
from tests.bench.common import report
from tests.conftest import Lab, _lab_env
from tests.ui.pilot import demo_config
from tuivirt.config import load_config
from tuivirt.ui.app import TuivirtApp
from tuivirt.ui.common.dialogs import ChoiceScreen, FormScreen
from tuivirt.ui.create import flow

THINK = 0.4  # s between seeing a chooser and pressing enter


async def until(check: object, timeout: float = 30) -> None:
    end = time.perf_counter() + timeout
    while not check():  # type: ignore[operator]
        if time.perf_counter() > end:
            raise RuntimeError("timed out")
        await asyncio.sleep(0.002)


async def open_form(config_path: Path | None, host_index: int,
                    warm: bool) -> tuple[float, float]:
    """(n -> the kind chooser drawn, the host's enter -> the form drawn)."""
    flow.OFFER_MAX_AGE = 30.0 if warm else -1.0
    config = load_config(config_path) if config_path else None
    app = TuivirtApp(config) if config else TuivirtApp(demo_config())
    async with app.run_test(size=(140, 40)) as pilot:
        await until(lambda: bool(app.main.table.guests))
        await asyncio.sleep(1.0)  # every host listed
        began = time.perf_counter()
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.pause()  # drawn
        chooser = time.perf_counter() - began
        await asyncio.sleep(THINK)
        if host_index < 0:  # one host: the form comes right after the kind
            start = time.perf_counter()
        await pilot.press("enter")  # VM
        if host_index >= 0:
            await until(lambda: isinstance(app.screen, ChoiceScreen)
                        and app.screen.title_text.endswith("on which host?"))
            await asyncio.sleep(THINK)
            for _ in range(host_index):
                await pilot.press("down")
        if host_index >= 0:
            start = time.perf_counter()
            await pilot.press("enter")
        await until(lambda: isinstance(app.screen, FormScreen)
                    and app.screen.is_mounted and bool(app.screen.query("Input")))
        await pilot.pause()  # drawn
        elapsed = time.perf_counter() - start
        app.exit()
    return chooser, elapsed


def on_a_terminal(config_path: Path, host: str, host_index: int) -> tuple[float, float]:
    """The same, as a user sees it: tuivirt on a pty, seconds from the key written to the
    dialog's title in what the terminal received (n -> the kind chooser, enter -> form)."""
    term = Terminal(Path(__file__).resolve().parents[2], config_path, f"create{host}")
    try:
        term.wait_for("tinybox", 60)
        time.sleep(1.5)  # every host listed
        since = term.mark()
        began = time.perf_counter()
        term.send("n")
        term.wait_for("what kind?", 10, since)
        chooser = time.perf_counter() - began
        time.sleep(THINK)
        since = term.mark()
        term.send("\r")
        term.wait_for("on which host?", 10, since)
        time.sleep(THINK)
        term.send("\x1b[B" * host_index)
        time.sleep(0.2)
        since = term.mark()
        began = time.perf_counter()
        term.send("\r")
        term.wait_for(f"New VM on {host}", 10, since)
        return chooser, time.perf_counter() - began
    finally:
        term.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    facts = _lab_env()
    subjects: list[tuple[str, Path | None, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if facts:
            path = Path(tmp) / "lab.toml"
            path.write_text(Lab(facts).config_text())
            subjects += [("local", path, 0), ("hostb", path, 1)]
        else:
            subjects.append(("demo", None, -1))
        worst = 0.0
        for name, path, index in subjects:
            samples: dict[str, list[float]] = {
                "remembered (n warms it)": [], "listed after the key (reference)": [],
                "n -> kind chooser (any dialog)": []}
            for _ in range(args.runs):
                chooser, form = asyncio.run(open_form(path, index, warm=True))
                samples["remembered (n warms it)"].append(form)
                samples["n -> kind chooser (any dialog)"].append(chooser)
                samples["listed after the key (reference)"].append(
                    asyncio.run(open_form(path, index, warm=False))[1])
            if path is not None:
                samples["on a pty: enter -> form title"] = []
                samples["on a pty: n -> kind chooser"] = []
                for _ in range(args.runs):
                    chooser, form = on_a_terminal(path, name, index)
                    samples["on a pty: enter -> form title"].append(form)
                    samples["on a pty: n -> kind chooser"].append(chooser)
            report(f"new-VM form on {name}: host chosen -> form drawn", samples)
            seen = samples.get("on a pty: enter -> form title") or samples[
                "remembered (n warms it)"]  # what a user sees, when there is a pty run
            worst = max(worst, statistics.median(seen))
            warm = statistics.median(samples["remembered (n warms it)"])
            cold = statistics.median(samples["listed after the key (reference)"])
            floor = statistics.median(samples["n -> kind chooser (any dialog)"])
            print(f"   ratio remembered/reference {warm / cold:.2f}, "
                  f"form/one-line chooser {warm / floor:.2f}")
    verdict = "ok" if worst <= 0.1 else "OVER TARGET"
    print(f"   worst median, key -> form on screen {worst * 1000:.0f} ms "
          f"(target <= 100 ms: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
