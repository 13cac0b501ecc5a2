"""Host sources: the hosts of an ssh_config or an Ansible inventory, their tags and
defaults; a broken source is one message and the other hosts still come up."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tuivirt.backends.ssh import describe_ssh_error, known_hosts_from
from tuivirt.config import parse_config
from tuivirt.errors import ConfigError
from tuivirt.sources import ansible_hosts, ssh_config_aliases

SSH_CONFIG = """\
Host *
    User root
Host kvm-001 kvm-002 web
    HostName 10.0.0.1
Host kvm-?0* !kvm-bad
    Port 2222
Host=kvm-003
Include extra.conf
"""

INI = """\
# a comment
lone ansible_host=10.0.0.9
[rack1]
kvm-[01:03] ansible_user=root
[rack2]
b1 ansible_host=10.0.0.1 ansible_port=2200
b2
[racks:children]
rack1
rack2
[racks:vars]
ansible_user=admin
[rack2:vars]
ansible_port=2201
"""

YAML = """\
all:
  hosts:
    lone: {ansible_host: 10.0.0.9}
  children:
    racks:
      vars: {ansible_user: admin}
      children:
        rack1:
          hosts:
            kvm-[01:03]: {ansible_user: root}
        rack2:
          vars: {ansible_port: 2201}
          hosts:
            b1: {ansible_host: 10.0.0.1, ansible_port: 2200}
            b2:
"""

# name -> (address, user, port, tags), whichever reader reads the inventory
EXPECTED = {
    "lone": ("10.0.0.9", None, None, ()),
    "kvm-01": ("kvm-01", "root", None, ("racks", "rack1")),
    "kvm-03": ("kvm-03", "root", None, ("racks", "rack1")),
    "b1": ("10.0.0.1", "admin", 2200, ("racks", "rack2")),
    "b2": ("b2", "admin", 2201, ("racks", "rack2")),  # group vars only
}


def test_ssh_config_gives_every_concrete_alias_matching_the_glob(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(SSH_CONFIG)
    (tmp_path / "extra.conf").write_text("Host kvm-004\n")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "extra.conf").write_text("Host kvm-005 db\n")
    old = os.environ.get("HOME")
    os.environ["HOME"] = str(home)  # Include's relative paths are in ~/.ssh (as OpenSSH)
    try:
        assert ssh_config_aliases(str(config), "kvm-*") == [
            "kvm-001", "kvm-002", "kvm-003", "kvm-005"]
        assert ssh_config_aliases(str(config)) == [
            "kvm-001", "kvm-002", "web", "kvm-003", "kvm-005", "db"]
    finally:
        os.environ["HOME"] = old or ""


@pytest.mark.parametrize("ansible", [False, True], ids=["own-reader", "ansible-inventory"])
@pytest.mark.parametrize("suffix,text", [(".ini", INI), (".yml", YAML)], ids=["ini", "yaml"])
def test_ansible_inventory_groups_become_tags_and_vars_are_honoured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ansible: bool, suffix: str,
        text: str) -> None:
    bindir = os.path.dirname(sys.executable)
    if ansible and not os.path.exists(os.path.join(bindir, "ansible-inventory")):
        pytest.skip("ansible-core is not installed")
    # With ansible-inventory on PATH, it reads the inventory; without it, we do.
    path = bindir + os.pathsep + "/usr/bin:/bin" if ansible else "/usr/bin:/bin"
    monkeypatch.setenv("PATH", path)
    assert (shutil.which("ansible-inventory") is not None) == ansible
    inventory = tmp_path / f"inventory{suffix}"
    inventory.write_text(text)
    found = {h.name: h for h in ansible_hosts(str(inventory))}
    assert set(found) == {"lone", "kvm-01", "kvm-02", "kvm-03", "b1", "b2"}
    for name, (address, user, port, tags) in EXPECTED.items():
        host = found[name]
        assert (host.address, host.user, host.port) == (address, user, port), name
        assert sorted(host.tags) == sorted(tags), name


def test_config_reads_sources_with_their_defaults_and_sources(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # our own INI reader
    (tmp_path / "ssh_config").write_text(SSH_CONFIG)
    (tmp_path / "inv.ini").write_text(INI)
    text = f"""
[[host]]
name = "local"
libvirt = ["qemu:///system"]

[[hosts_from]]
ssh_config = "{tmp_path}/ssh_config"
match = "kvm-00*"
libvirt = ["qemu:///system"]
read_only = true
tags = ["ssh"]

[[hosts_from]]
ansible = "{tmp_path}/inv.ini"
match = "b*"
docker = "unix:///run/docker.sock"
label = "red"
"""
    config = parse_config(text, f"{tmp_path}/hosts.toml")
    hosts = {h.name: h for h in config.hosts}
    assert list(hosts) == ["local", "kvm-001", "kvm-002", "kvm-003", "b1", "b2"]
    assert hosts["local"].source == "hosts.toml:2"
    kvm = hosts["kvm-002"]
    assert kvm.source == f"ssh_config {tmp_path}/ssh_config"
    assert kvm.ssh_config == f"{tmp_path}/ssh_config"
    assert kvm.ssh is not None and kvm.ssh.host == "kvm-002"  # SSH resolves the alias
    assert kvm.read_only and kvm.tags == ("ssh",) and kvm.libvirt == ("qemu:///system",)
    b1 = hosts["b1"]
    assert b1.ssh is not None and str(b1.ssh) == "admin@10.0.0.1:2200"
    assert b1.label == "red" and b1.tags == ("racks", "rack2")
    assert b1.source == f"ansible {tmp_path}/inv.ini"
    assert config.problems == ()


def test_a_broken_source_is_one_message_and_the_others_come_up(tmp_path: Path) -> None:
    (tmp_path / "ssh_config").write_text(SSH_CONFIG)
    text = f"""
[[hosts_from]]
ansible = "{tmp_path}/missing.ini"
docker = "unix:///run/docker.sock"

[[hosts_from]]
ssh_config = "{tmp_path}/ssh_config"
match = "web"
docker = "unix:///run/docker.sock"
"""
    config = parse_config(text, "hosts.toml")
    assert [h.name for h in config.hosts] == ["web"]
    assert len(config.problems) == 1
    problem = config.problems[0]
    assert problem.startswith(f"hosts_from[0] (ansible {tmp_path}/missing.ini, hosts.toml:2)")
    assert "no such file" in problem and problem in config.notes


def test_a_name_from_two_sources_is_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "ssh_config").write_text("Host web\n")
    text = f"""
[[host]]
name = "web"
docker = "unix:///run/docker.sock"

[[hosts_from]]
ssh_config = "{tmp_path}/ssh_config"
docker = "unix:///run/docker.sock"
"""
    config = parse_config(text, "hosts.toml")
    assert [h.source for h in config.hosts] == ["hosts.toml:2"]
    assert config.problems == (
        f"host 'web' of ssh_config {tmp_path}/ssh_config clashes with 'web' of "
        "hosts.toml:2: the first is used; rename or leave out one of them",)


@pytest.mark.parametrize("body,line,message", [
    ('ssh_config = "x"\nansible = "y"\ndocker = "unix:///d"\n', 4, "exactly one of"),
    ('ssh_config = "x"\nlable = "red"\ndocker = "unix:///d"\n', 4, "did you mean 'label'"),
    ('ansible = "x"\n', 2, "at least one of libvirt"),
    ('ansible = "x"\ndocker = "tcp://h:2375"\n', 4, "over ssh, docker must be"),
])
def test_a_bad_source_table_is_a_config_error_naming_its_line(body: str, line: int,
                                                              message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"\n[[hosts_from]]\n{body}", "hosts.toml")
    assert caught.value.line == line, str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize("value", ["0", "true", "1000", '"8"'])
def test_ssh_handshakes_must_be_a_sane_count(value: str) -> None:
    with pytest.raises(ConfigError, match="ssh_handshakes"):
        parse_config(f'ssh_handshakes = {value}\n[[host]]\nname = "a"\n'
                     'docker = "unix:///d"\n', "hosts.toml")


def test_user_known_hosts_file_is_used_but_none_never_turns_the_check_off() -> None:
    home = os.path.expanduser("~/.ssh/known_hosts")
    assert known_hosts_from({"UserKnownHostsFile": ["/k/a", "/k/b"]}, None) == "/k/a"
    assert known_hosts_from({"UserKnownHostsFile": ["/k/a"]}, "/mine") == "/mine"
    assert known_hosts_from({"UserKnownHostsFile": []}, None) == home  # `none`
    assert known_hosts_from({"UserKnownHostsFile": ["/dev/null"]}, None) == home
    assert known_hosts_from({}, None) == home


def test_a_host_nothing_answers_says_why() -> None:
    exc = OSError(errno.EHOSTUNREACH, "Connect call failed ('10.77.0.99', 22)")
    assert describe_ssh_error("x", "kvm-x", exc, None) == "ssh kvm-x: No route to host"


DEMO_TAGS = """
[[host]]
name = "a"
libvirt = ["test:///default"]
tags = ["rack1"]

[[host]]
name = "b"
libvirt = ["test:///default"]
tags = ["rack2", "prod"]
"""


def test_tag_selects_hosts_on_every_command(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(DEMO_TAGS)
    proc = run_cli("list", "--json", "--tag", "rack2", config=config)
    assert proc.returncode == 0, proc.stderr
    assert {g["host"] for g in json.loads(proc.stdout)} == {"b"}
    proc = run_cli("hosts", "--json", "--tag", "rack1", "--tag", "prod", config=config)
    assert [(h["name"], h["tags"], h["source"]) for h in json.loads(proc.stdout)] == [
        ("a", ["rack1"], "c.toml:2"), ("b", ["rack2", "prod"], "c.toml:7")]
    proc = run_cli("start", "a/test", "--tag", "rack2", config=config)
    assert proc.returncode == 2 and "host 'a' is not tagged rack2" in proc.stderr
    proc = run_cli("pools", "--tag", "nope", config=config)
    assert proc.returncode == 2
    assert "no host is tagged 'nope' (tags: prod, rack1, rack2)" in proc.stderr


def test_a_host_name_that_does_not_resolve_says_so() -> None:
    import socket

    exc = socket.gaierror(-2, "Name or service not known")
    assert describe_ssh_error("x", "node-1", exc, None) == (
        "ssh node-1: cannot resolve the host name: Name or service not known")
