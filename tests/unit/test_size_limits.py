"""Definitions too big for libvirt or the editor are refused at once, with the reason."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import run_cli
from tuivirt import xmltools

BIG = 50 * 2**20


def big_definition(path: Path, size: int) -> Path:
    """A well-formed domain padded with comments to `size` bytes."""
    head = b"<domain type='test'><name>tv-big</name><memory>8192</memory><os><type>hvm" \
           b"</type></os>"
    tail = b"</domain>\n"
    pad = b"<!-- padding -->\n"
    with path.open("wb") as handle:
        handle.write(head)
        handle.write(pad * ((size - len(head) - len(tail)) // len(pad)))
        handle.write(tail)
    return path


def test_size_problem_names_the_size_and_both_limits() -> None:
    assert xmltools.size_problem(xmltools.EDITOR_MAX, "x") is None
    why = xmltools.size_problem(BIG, "the file")
    assert why == ("the file is 50.0 MiB, over the editor's limit of 1.0 MiB (libvirt "
                   "itself refuses a definition over 4.0 MiB)")
    assert xmltools.size_problem(xmltools.LIBVIRT_XML_MAX, "x",
                                 xmltools.LIBVIRT_XML_MAX) is None
    assert "more than 4.0 MiB" in str(xmltools.size_problem(
        xmltools.LIBVIRT_XML_MAX + 1, "stdin", xmltools.LIBVIRT_XML_MAX, more=True))


def test_first_change() -> None:
    assert xmltools.first_change("a\nb\nc", "a\nb\nc") is None
    assert xmltools.first_change("a\nb\nc", "a\nB\nc") == (2, "B")
    assert xmltools.first_change("a\nb", "a\nb\nnew") == (3, "new")
    assert xmltools.first_change("a\nb\nc", "a\nb") == (3, "")


def test_define_refuses_a_50_mb_file_before_reading_it(tmp_path: Path) -> None:
    # Was: read, parsed, then refused by libvirt's client ("Unable to encode message
    # payload"); on the test driver (no RPC) it was even defined.
    config = tmp_path / "t.toml"
    config.write_text('[[host]]\nname = "t"\nlibvirt = ["test:///default"]\n')
    path = big_definition(tmp_path / "big.xml", BIG)
    started = time.monotonic()
    done = run_cli("define", "t", str(path), config=config)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{path} is 50.0 MiB: libvirt refuses a definition over 4.0 MiB" in done.stderr
    assert time.monotonic() - started < 10  # the interpreter's start, not the file
    done = run_cli("define", "t", "-", config=config, stdin=path.read_text())
    assert done.returncode == 2
    assert "standard input is more than 4.0 MiB: libvirt refuses" in done.stderr
    small = big_definition(tmp_path / "small.xml", 2**20)  # within libvirt's limit
    done = run_cli("define", "t", str(small), config=config)
    assert done.returncode == 0 and "t/tv-big: defined" in done.stdout, done.stderr
