"""The CLI builds only the group of the command it is given; the table saying which
module holds which command must match what each module registers."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from tuivirt.cli import GROUPS, build_parser, command_group


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_group_registers_exactly_its_commands(group: str) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(f"tuivirt.cli.{group}").register(sub)
    assert tuple(sub.choices) == GROUPS[group]


def test_every_cli_module_with_commands_is_in_the_table() -> None:
    from pathlib import Path

    import tuivirt.cli

    folder = Path(tuivirt.cli.__file__).parent
    registering = {p.stem for p in folder.glob("*.py")
                   if "\ndef register(" in p.read_text()}
    assert registering <= set(GROUPS), registering - set(GROUPS)


@pytest.mark.parametrize(("argv", "group"), [
    (["list", "--json"], "guests"),
    (["--config", "list", "dumpxml", "x/y"], "definitions"),  # "list" is --config's value
    (["--timeout", "3", "volume", "create"], "storage"),
    (["--help"], None), ([], None), (["nosuch"], None), (["--", "list"], None),
])
def test_the_command_word_is_found_past_global_options(argv: list[str],
                                                       group: str | None) -> None:
    assert command_group(argv) == group


def test_a_named_command_parses_as_with_every_group() -> None:
    argv = ["--timeout", "3", "create", "vm", "h", "n", "--memory", "1G", "--print"]
    alone, full = build_parser(argv).parse_args(argv), build_parser().parse_args(argv)
    assert {k: v for k, v in vars(alone).items() if k != "func"} == \
        {k: v for k, v in vars(full).items() if k != "func"}


def test_help_still_lists_every_command_and_a_typo_names_the_choices() -> None:
    run = [sys.executable, "-m", "tuivirt"]
    shown = subprocess.run([*run, "--help"], capture_output=True, text=True, check=True).stdout
    for words in GROUPS.values():
        for word in words:
            assert word in shown
    typo = subprocess.run([*run, "lsit"], capture_output=True, text=True)
    assert typo.returncode == 2 and "invalid choice: 'lsit'" in typo.stderr
    assert "'list'" in typo.stderr


def test_list_does_not_import_the_other_groups() -> None:
    code = ("import sys; from tuivirt.cli import build_parser; build_parser(['list']); "
            "print(sorted(m for m in sys.modules if m.startswith('tuivirt.cli.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert "tuivirt.cli.guests" in loaded and "tuivirt.cli.storage" not in loaded
    assert "tuivirt.cli.create" not in loaded


def test_build_keeps_dockers_tag_and_other_commands_take_host_tags() -> None:
    build = build_parser(["build", "h", "/d", "-t", "web:1.0"]).parse_args(
        ["build", "h", "/d", "-t", "web:1.0"])
    assert build.tag == "web:1.0" and not hasattr(build, "host_tags")
    listing = build_parser().parse_args(["list", "--tag", "rack2", "--tag", "prod"])
    assert listing.host_tags == ["rack2", "prod"]
    nested = build_parser().parse_args(["volume", "delete", "h/p/v", "--tag", "rack2"])
    assert nested.host_tags == ["rack2"]


def test_a_config_without_host_sources_loads_none_of_their_readers() -> None:
    """The ssh_config and Ansible readers (subprocess, shutil, shlex: ~6 ms) are loaded
    by a config that has `[[hosts_from]]`, not by every command's start."""
    code = ("import sys; from tuivirt.config import parse_config; "
            "parse_config('[[host]]\\nname = \"a\"\\nlibvirt = [\"qemu:///system\"]\\n', "
            "'c.toml'); print(sorted(m for m in ('tuivirt.sources', 'subprocess', "
            "'shutil', 'shlex', 'ipaddress') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert loaded.strip() == "[]", loaded
