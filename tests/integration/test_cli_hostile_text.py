"""The CLI never prints outside text raw: names, daemon errors (issue 11, items 1 and 2).

The names come from libvirt's test driver (a node file of our own: no daemon), the
error from the lab's dockerd trying to run a container whose command is an escape
sequence.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from wcwidth import wcswidth

from tests.conftest import Lab, run_cli
from tests.helpers import forbidden

HOSTILE_NAMES = ["evil\u202egnp.exe", "csi\u009b2J", "tab\there", "数据库服务器", "plain"]
# OSC 52 (write the clipboard), OSC 2 (window title), as the container had it.
HOSTILE_COMMAND = "/bin/\x1b]52;c;cHduZWQ=\x1b\\\x1b]2;pwned\x1b\\x"


def _char_refs(text: str) -> str:
    return "".join(c if " " < c < "\x7f" and c not in "<>&'" else f"&#x{ord(c):x};"
                   for c in text)


@pytest.fixture()
def odd_host(tmp_path: Path, state_home: Path) -> Path:
    """A config whose one host holds guests with hostile names (libvirt's test driver)."""
    domains = "\n".join(f"""  <domain type='test'>
    <name>{_char_refs(name)}</name>
    <uuid>6d3c0f3a-0000-4000-8000-{i:012d}</uuid>
    <memory unit='MiB'>128</memory><vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
  </domain>""" for i, name in enumerate(HOSTILE_NAMES))
    node = tmp_path / "node.xml"
    node.write_text(f"<node>\n{domains}\n</node>\n", encoding="utf-8")
    config = tmp_path / "odd.toml"
    config.write_text(f'[[host]]\nname = "odd"\nlibvirt = ["test://{node}"]\n')
    return config


def test_list_escapes_hostile_names_and_aligns_by_cells(odd_host: Path) -> None:
    proc = run_cli("list", config=odd_host)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert not [c for c in proc.stdout if forbidden(c) and c != "\n"]
    names = [line.split()[2] for line in lines[1:]]
    assert sorted(names) == sorted(["evil\\u202egnp.exe", "csi\\x9b2J", "tab\\there",
                                    "数据库服务器", "plain"])
    # Every row's STATE starts in the header's STATE column, counted in terminal cells
    # (wcwidth: how a terminal counts them, not tuivirt's own function).
    column = wcswidth(lines[0][:lines[0].index("STATE")])
    for line in lines[1:]:
        assert wcswidth(line[:line.index("running")]) == column, line
    # --json stays exact: a script gets the real names.
    rows = json.loads(run_cli("list", "--json", config=odd_host).stdout)
    assert sorted(r["name"] for r in rows) == sorted(HOSTILE_NAMES)


def test_define_confirmation_escapes_the_name(odd_host: Path, tmp_path: Path) -> None:
    xml = tmp_path / "new.xml"
    xml.write_text("<domain type='test'><name>new&#x202e;&#x9b;name</name>"
                   "<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
                   "<os><type arch='x86_64'>hvm</type></os></domain>")
    proc = run_cli("define", "odd", str(xml), config=odd_host)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("odd/new\\u202e\\x9bname: defined (test, shutoff)")
    assert not [c for c in proc.stdout + proc.stderr if forbidden(c) and c != "\n"]


@pytest.fixture()
def hostile_container(lab: Lab) -> Iterator[str]:
    name = f"tvtest-hostile-{uuid.uuid4().hex[:8]}"
    lab.docker("local", "create", "--name", name, "--network", "none", "tiny:latest",
               HOSTILE_COMMAND)
    yield name
    lab.docker("local", "rm", "-f", name, check=False)


@pytest.mark.lab
def test_start_prints_the_daemons_error_escaped(lab_config: Path,
                                               hostile_container: str) -> None:
    proc = run_cli("start", f"local/{hostile_container}", config=lab_config)
    assert proc.returncode == 1
    assert "FAILED" in proc.stderr
    assert not [c for c in proc.stderr if forbidden(c) and c != "\n"], proc.stderr
    assert "\\x1b]52;c;cHduZWQ=" in proc.stderr and "\\x1b]2;pwned" in proc.stderr
