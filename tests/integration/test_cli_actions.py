"""The lifecycle subcommands planned by tuivirt.actions (issue 12, item 1), on libvirt's
test driver (a node file of our own: no daemon, runs anywhere)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.fixture()
def two_hosts(tmp_path: Path) -> Path:
    """Host `rw` with guests one and two; host `ro` (read-only) with guest three."""
    def node(names: list[str], first: int) -> Path:
        path = tmp_path / f"node{first}.xml"
        domains = "".join(f"""<domain type='test'><name>{name}</name>
          <uuid>6d3c0f3a-0000-4000-8000-{first + i:012d}</uuid>
          <memory unit='MiB'>64</memory><vcpu>1</vcpu>
          <os><type arch='x86_64'>hvm</type></os></domain>""" for i, name in enumerate(names))
        path.write_text(f"<node>{domains}</node>")
        return path

    config = tmp_path / "c.toml"
    config.write_text(f'[[host]]\nname = "rw"\nlibvirt = ["test://{node(["one", "two"], 0)}"]\n'
                      f'[[host]]\nname = "ro"\nlibvirt = ["test://{node(["three"], 10)}"]\n'
                      "read_only = true\n")
    return config


def test_outcome_lines_and_json(two_hosts: Path) -> None:
    proc = run_cli("suspend", "one", "rw/two", config=two_hosts)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["rw/one: suspended (now paused)",
                                        "rw/two: suspended (now paused)"]
    proc = run_cli("autostart", "--disable", "--json", "one", config=two_hosts)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"address": "rw/one", "action": "autostart",
                                        "ok": True, "error": None, "state": "running"}]


def test_read_only_host_is_refused_before_any_confirmation(two_hosts: Path) -> None:
    # Was: "destroy needs confirmation: pass --yes" (exit 2), then, with --yes, the
    # refusal: a read-only host refuses whatever the answer, so it says so first.
    proc = run_cli("destroy", "ro/three", config=two_hosts)
    assert proc.returncode == 1, proc.stderr
    assert "ro/three: FAILED: host ro is read-only: refusing to destroy three" in proc.stderr
    assert "will affect" not in proc.stderr and "--yes" not in proc.stderr


def test_destroy_names_only_what_it_will_run(two_hosts: Path) -> None:
    proc = run_cli("destroy", "--yes", "one", "ro/three", config=two_hosts)
    assert proc.returncode == 1
    assert "destroy will affect:\n  rw/one (test, running)\n" in proc.stderr
    assert "ro/three (test" not in proc.stderr
    assert "rw/one: destroyed (forced off) (now shutoff)" in proc.stdout


def test_unknown_host_is_a_usage_error(two_hosts: Path) -> None:
    proc = run_cli("start", "nohost/one", config=two_hosts)
    assert proc.returncode == 2
    assert "nohost/one: unknown host 'nohost' (configured: rw, ro)" in proc.stderr
    proc = run_cli("list", "--host", "nohost", config=two_hosts)
    assert proc.returncode == 2
    assert "unknown host 'nohost' (configured: rw, ro)" in proc.stderr


def test_list_never_imports_textual(two_hosts: Path) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "tuivirt", "--config",
                           str(two_hosts), "list"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "tuivirt.cli" in proc.stderr  # importtime did report
    assert "textual" not in proc.stderr.lower()
