"""The CLI end to end against the lab's real daemons on both hosts.

Every result is checked with the daemons' own tools (virsh, docker), not with tuivirt.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab, run_cli, tiny_xml

pytestmark = pytest.mark.lab

HOSTS = ["local", "hostb"]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_list_json_covers_both_hosts_and_every_kind(lab: Lab, lab_config: Path) -> None:
    proc = run_cli("list", "--json", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    by_address = {r["address"]: r for r in rows}
    for key in ("host", "kind", "name", "state", "vcpus", "memory_mib"):
        assert all(key in r for r in rows)
    assert by_address["local/tiny"]["kind"] == "qemu"
    assert by_address["local/tiny"]["memory_mib"] == 128
    assert by_address["local/tinyct"]["kind"] == "lxc"
    assert by_address["local/tinybox"]["kind"] == "docker"
    assert by_address["hostb/tinyb"]["kind"] == "qemu"
    assert by_address["hostb/boxb"]["kind"] == "docker"
    # Each host shows only its own guests: the daemons agree.
    assert "tinyb" not in lab.virsh("local", "list", "--all", "--name").split()
    assert "tiny" not in lab.virsh("hostb", "list", "--all", "--name").split()
    states = {r["address"]: r["state"] for r in rows}
    assert states["hostb/boxb"] == ("running" if "true" in lab.docker(
        "hostb", "inspect", "-f", "{{.State.Running}}", "boxb") else "shutoff")


def test_list_filters(lab_config: Path) -> None:
    proc = run_cli("list", "--json", "--host", "hostb", "--kind", "docker", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert [r["address"] for r in json.loads(proc.stdout)] == ["hostb/boxb"]
    proc = run_cli("list", "--kind", "nonsense", config=lab_config)
    assert proc.returncode == 2 and "unknown kind 'nonsense'" in proc.stderr


@pytest.mark.parametrize("host", HOSTS)
def test_start_then_destroy_a_real_qemu_guest(lab: Lab, lab_config: Path,
                                              scratch_vm: Callable[[str], str],
                                              host: str) -> None:
    name = scratch_vm(host)
    proc = run_cli("start", f"{host}/{name}", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert f"{host}/{name}: started (now running)" in proc.stdout
    assert lab.domstate(host, name) == "running"

    # A refused action: the daemon's own message, exit 1.
    proc = run_cli("start", f"{host}/{name}", config=lab_config)
    assert proc.returncode == 1
    assert "domain is already running" in proc.stderr

    # shutdown is a request (ACPI): accepted while the guest runs.
    proc = run_cli("shutdown", f"{host}/{name}", config=lab_config)
    assert proc.returncode == 0, proc.stderr

    # destroy names its targets and wants --yes without a terminal.
    proc = run_cli("destroy", f"{host}/{name}", config=lab_config)
    assert proc.returncode == 2
    assert f"{host}/{name} (qemu, " in proc.stderr and "--yes" in proc.stderr
    assert lab.domstate(host, name) in ("running", "in shutdown")
    proc = run_cli("destroy", "--yes", f"{host}/{name}", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert lab.domstate(host, name) == "shut off"


def test_suspend_resume_and_autostart(lab: Lab, lab_config: Path,
                                      scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("hostb")
    assert run_cli("start", name, config=lab_config).returncode == 0
    proc = run_cli("suspend", name, "--json", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"address": f"hostb/{name}", "action": "suspend",
                                        "ok": True, "error": None, "state": "paused"}]
    assert lab.domstate("hostb", name) == "paused"
    assert run_cli("resume", name, config=lab_config).returncode == 0
    assert lab.domstate("hostb", name) == "running"
    assert run_cli("autostart", name, config=lab_config).returncode == 0
    assert "Autostart:      enable" in lab.virsh("hostb", "dominfo", name)
    assert run_cli("autostart", "--disable", name, config=lab_config).returncode == 0
    assert "Autostart:      disable" in lab.virsh("hostb", "dominfo", name)


def test_lxc_container_start_and_destroy(lab: Lab, lab_config: Path) -> None:
    uri = "lxc:///system"
    lab.virsh("local", "destroy", "tinyct", uri=uri, check=False)
    proc = run_cli("start", "local/lxc:tinyct", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert lab.domstate("local", "tinyct", uri=uri) == "running"
    proc = run_cli("destroy", "-y", "local/tinyct", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert lab.domstate("local", "tinyct", uri=uri) == "shut off"


@pytest.mark.parametrize(("host", "container"), [("local", "tinybox"), ("hostb", "boxb")])
def test_docker_container_stop_and_start(lab: Lab, lab_config: Path, host: str,
                                         container: str) -> None:
    def running() -> str:
        return lab.docker(host, "inspect", "-f", "{{.State.Running}}", container).strip()

    if running() != "true":
        lab.docker(host, "start", container)
    proc = run_cli("shutdown", f"{host}/{container}", config=lab_config, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert running() == "false"
    proc = run_cli("start", f"{host}/{container}", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert running() == "true"
    proc = run_cli("suspend", f"{host}/{container}", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert lab.docker(host, "inspect", "-f", "{{.State.Paused}}", container).strip() == "true"
    assert run_cli("resume", f"{host}/{container}", config=lab_config).returncode == 0
    assert lab.docker(host, "inspect", "-f", "{{.State.Paused}}", container).strip() == "false"


@pytest.mark.parametrize(("host", "name"), [("local", "tiny"), ("hostb", "tinyb")])
def test_dumpxml_matches_virsh(lab: Lab, lab_config: Path, host: str, name: str) -> None:
    proc = run_cli("dumpxml", "--inactive", f"{host}/{name}", config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == lab.virsh(host, "dumpxml", "--inactive", name).strip()


@pytest.mark.parametrize("host", HOSTS)
def test_define_changed_xml_keeps_a_backup(lab: Lab, lab_config: Path, tmp_path: Path,
                                           state_home: Path,
                                           scratch_vm: Callable[[str], str],
                                           host: str) -> None:
    name = scratch_vm(host)
    before = run_cli("dumpxml", "--inactive", f"{host}/{name}", config=lab_config).stdout
    assert "<memory unit='KiB'>131072</memory>" in before
    changed = before.replace("<memory unit='KiB'>131072</memory>",
                             "<memory unit='KiB'>196608</memory>").replace(
        "<currentMemory unit='KiB'>131072</currentMemory>",
        "<currentMemory unit='KiB'>196608</currentMemory>")
    xml_file = tmp_path / "changed.xml"
    xml_file.write_text(changed)
    proc = run_cli("define", host, str(xml_file), config=lab_config)
    assert proc.returncode == 0, proc.stderr
    assert f"{host}/{name}: defined" in proc.stdout
    assert "<memory unit='KiB'>196608</memory>" in lab.virsh(host, "dumpxml", "--inactive",
                                                             name)
    backups = list((state_home / "tuivirt" / "backups" / host / name).glob("*.xml"))
    assert len(backups) == 1
    assert "<memory unit='KiB'>131072</memory>" in backups[0].read_text()


def test_define_rejects_bad_xml_with_the_daemons_words(lab: Lab, lab_config: Path,
                                                       tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<domain type='qemu'>\n  <name>x</name>\n  <memory>1</memory\n")
    proc = run_cli("define", "local", str(broken), config=lab_config)
    assert proc.returncode == 2
    assert f"{broken}:4:" in proc.stderr and "not well-formed" in proc.stderr
    invalid = tmp_path / "invalid.xml"
    invalid.write_text(tiny_xml(lab, "tvtest-invalid").replace("<vcpu>1</vcpu>",
                                                               "<vcpu>many</vcpu>"))
    proc = run_cli("define", "local", str(invalid), config=lab_config)
    assert proc.returncode == 1
    assert "vcpu" in proc.stderr.lower()
    assert "tvtest-invalid" not in lab.virsh("local", "list", "--all", "--name")


def test_unknown_and_ambiguous_guests(lab_config: Path, tmp_path: Path) -> None:
    proc = run_cli("start", "no-such-guest", config=lab_config)
    assert proc.returncode == 2
    assert "no-such-guest: no such guest" in proc.stderr
    proc = run_cli("start", "nohost/tiny", config=lab_config)
    assert proc.returncode == 2 and "unknown host 'nohost'" in proc.stderr


def test_unknown_host_key_is_refused_clearly(lab: Lab, tmp_path: Path,
                                             state_home: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = tmp_path / "c.toml"
    config.write_text(lab.config_text(known_hosts=str(empty)))
    proc = run_cli("list", "--json", config=config)
    assert proc.returncode == 1
    assert "host hostb: ssh root@10.77.0.2: host key not verified" in proc.stderr
    assert str(empty) in proc.stderr
    # The other host is listed all the same.
    assert any(r["host"] == "local" for r in json.loads(proc.stdout))
    assert not any(r["host"] == "hostb" for r in json.loads(proc.stdout))


def test_read_only_host_refuses_changes(lab: Lab, tmp_path: Path, state_home: Path,
                                        scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm("hostb")
    config = tmp_path / "c.toml"
    config.write_text(lab.config_text(hostb_read_only=True))
    proc = run_cli("start", f"hostb/{name}", config=config)
    assert proc.returncode == 1
    assert "host hostb is read-only" in proc.stderr
    assert lab.domstate("hostb", name) == "shut off"
    # Reading is still fine.
    assert run_cli("dumpxml", f"hostb/{name}", config=config).returncode == 0


@pytest.fixture()
def tarpit() -> Iterator[int]:
    """A TCP port on loopback that accepts and then never says a word (a hung sshd)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_hung_and_refusing_hosts_do_not_block_the_others(lab: Lab, tmp_path: Path,
                                                         state_home: Path,
                                                         tarpit: int) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    extra = f"""
[[host]]
name = "hung"
ssh = "root@127.0.0.1:{tarpit}"
libvirt = ["qemu:///system"]

[[host]]
name = "refusing"
ssh = "root@127.0.0.1:{closed_port}"
docker = "unix:///run/docker.sock"
"""
    config = tmp_path / "c.toml"
    config.write_text("timeout = 3\n" + lab.config_text(extra=extra))
    start = time.monotonic()
    proc = run_cli("list", "--json", config=config)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1
    assert "host hung: " in proc.stderr and "timed out" in proc.stderr
    assert "host refusing: ssh root@127.0.0.1:" in proc.stderr
    assert "connection refused" in proc.stderr.lower()
    hosts = {r["host"] for r in json.loads(proc.stdout)}
    assert hosts == {"local", "hostb"}
    assert elapsed < 3 + 5, f"a hung host held the listing for {elapsed:.1f} s"
    proc = run_cli("hosts", "--json", config=config)
    facts = {h["name"]: h for h in json.loads(proc.stdout)}
    assert facts["local"]["reachable"] and facts["hostb"]["reachable"]
    assert not facts["hung"]["reachable"] and not facts["refusing"]["reachable"]
    assert facts["local"]["libvirt_version"] and facts["hostb"]["docker_version"]
    assert "QEMU" in facts["hostb"]["hypervisors"]
