"""The hosts config: good files parse; every bad one names the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tuivirt.config import detect_local, load_config, parse_config, parse_ssh
from tuivirt.errors import ConfigError

GOOD = """
theme = "tuivirt-light"

[[host]]
name = "local"
libvirt = ["qemu:///system", "lxc:///system"]
docker = "unix:///var/run/docker.sock"

[[host]]
name = "rack2"
ssh = "root@10.0.0.12:2222"
libvirt = ["qemu:///system"]
docker = "unix:///run/docker.sock"
read_only = true
label = "red"
tags = ["rack2", "prod", "rack2"]
"""


def test_good_config_parses() -> None:
    config = parse_config(GOOD, "hosts.toml")
    assert [h.name for h in config.hosts] == ["local", "rack2"]
    local, rack2 = config.hosts
    assert local.libvirt == ("qemu:///system", "lxc:///system")
    assert local.ssh is None and not local.read_only
    assert rack2.ssh is not None
    assert (rack2.ssh.user, rack2.ssh.host, rack2.ssh.port) == ("root", "10.0.0.12", 2222)
    assert rack2.read_only and rack2.label == "red"
    assert local.tags == () and rack2.tags == ("rack2", "prod")
    assert config.theme == "tuivirt-light"


@pytest.mark.parametrize(("text", "line", "key", "fragment"), [
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"\n", 3, None, "not valid TOML"),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\nreadonly = true\n", 4,
     "host[0] (a).readonly", "unknown key"),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\n\n[[host]]\nname = \"b\"\n"
     "docker = \"ftp://x\"\n", 7, "host[1] (b).docker", "not a Docker endpoint"),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\nread_only = \"yes\"\n", 4,
     "host[0] (a).read_only", "true or false"),
    ("[[host]]\nname = \"a/b\"\nlibvirt = [\"qemu:///system\"]\n", 2, "host[0].name", "no '/'"),
    ("[[host]]\nname = \"a\"\n", 1, "host[0] (a).libvirt", "at least one of"),
    ("[[host]]\nname = \"a\"\nssh = \"root@@x\"\nlibvirt = [\"qemu:///system\"]\n", 3,
     "host[0] (a).ssh", "user@host:port"),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\nlabel = \"notacolour\"\n", 4,
     "host[0] (a).label", "not a colour"),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\ntags = \"prod\"\n", 4,
     "host[0] (a).tags", 'tags = ["prod"]'),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\ntags = [\"a b\"]\n", 4,
     "host[0] (a).tags", "is not a tag"),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\n[[host]]\nname = \"a\"\n"
     "libvirt = [\"lxc:///system\"]\n", 5, "host[1].name", "used twice"),
    ("timeout = -1\n[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\n", 1, "timeout",
     "positive"),
    ("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\nssh_identity = \"~/.ssh/k\"\n", 4,
     "host[0] (a).ssh_identity", "only makes sense with ssh"),
])
def test_bad_config_names_line_and_key(text: str, line: int, key: str | None,
                                       fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "/etc/x/hosts.toml")
    error = info.value
    assert error.path == "/etc/x/hosts.toml"
    assert error.line == line, str(error)
    assert error.key == key
    assert fragment in str(error)
    assert str(error).startswith(f"/etc/x/hosts.toml:{line}:")


def test_no_hosts_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no hosts configured"):
        parse_config("theme = \"x\"\n", "f.toml")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(("text", "user", "host", "port"), [
    ("root@10.0.0.12", "root", "10.0.0.12", None),
    ("10.0.0.12:2222", None, "10.0.0.12", 2222),
    ("ops@[::1]:22", "ops", "::1", 22),
    ("box", None, "box", None),
])
def test_ssh_target_forms(text: str, user: str | None, host: str, port: int | None) -> None:
    target = parse_ssh(text)
    assert (target.user, target.host, target.port) == (user, host, port)


def test_no_hypervisor_means_demo_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.path.exists", lambda _p: False)
    config = detect_local()
    assert [h.name for h in config.hosts] == ["demo"]
    assert config.hosts[0].demo
    assert config.hosts[0].libvirt[0].startswith("test:///")
    assert any("demo host" in note for note in config.notes)


def test_cli_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "hosts.toml"
    bad.write_text("[[host]]\nname = \"a\"\nlibvirt = [\"qemu:///system\"]\nlable = \"red\"\n")
    proc = run_cli("list", config=bad)
    assert proc.returncode == 2
    assert f"{bad}:4: host[0] (a).lable: unknown key" in proc.stderr
    assert "Traceback" not in proc.stderr
