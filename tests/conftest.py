"""Shared fixtures: the lab's facts, a config for its two hosts, and daemon-side checks.

Lab tests talk to the real daemons tests/lab/up started. Without the lab they skip,
except under CI=true, where a lab test that cannot reach the lab fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults import Faults, exclusive_faults

LAB_DIR = Path(os.environ.get("TUIVIRT_LAB_DIR", "/var/lib/tuivirt-lab"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _lab_env() -> dict[str, str]:
    env_file = LAB_DIR / "lab.env"
    if not env_file.exists():
        return {}
    facts = {}
    for line in env_file.read_text().splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            facts[key] = value
    return facts


class Lab:
    """The running lab: host A is this machine, hostb lives in its own namespaces."""

    def __init__(self, facts: dict[str, str]) -> None:
        self.dir = Path(facts["TUIVIRT_LAB_DIR"])
        self.hostb_addr = facts["TUIVIRT_LAB_HOSTB_ADDR"]
        self.client_key = facts["TUIVIRT_LAB_CLIENT_KEY"]
        self.known_hosts = facts["TUIVIRT_LAB_KNOWN_HOSTS"]
        self.hostb_docker = facts["TUIVIRT_LAB_HOSTB_DOCKER"]
        holder_file = self.dir / "hostb" / "run" / "holder.pid"
        self.holder = holder_file.read_text().strip() if holder_file.exists() else ""

    def hostb_prefix(self) -> list[str]:
        return ["nsenter", "-t", self.holder, "-m", "-n"]

    def virsh(self, host: str, *args: str, uri: str = "qemu:///system",
              check: bool = True) -> str:
        prefix = self.hostb_prefix() if host == "hostb" else []
        proc = subprocess.run([*prefix, "virsh", "-q", "-c", uri, *args],
                              capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"virsh {' '.join(args)} on {host}: {proc.stderr}")
        return proc.stdout

    def domstate(self, host: str, name: str, uri: str = "qemu:///system") -> str:
        return self.virsh(host, "domstate", name, uri=uri).strip()

    def docker(self, host: str, *args: str, check: bool = True) -> str:
        url = self.hostb_docker if host == "hostb" else "unix:///var/run/docker.sock"
        proc = subprocess.run(["docker", "-H", url, *args], capture_output=True, text=True,
                              timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} on {host}: {proc.stderr}")
        return proc.stdout

    def config_text(self, *, known_hosts: str | None = None, extra: str = "",
                    hostb_read_only: bool = False) -> str:
        return f"""
[[host]]
name = "local"
libvirt = ["qemu:///system", "lxc:///system"]
docker = "unix:///var/run/docker.sock"

[[host]]
name = "hostb"
ssh = "root@{self.hostb_addr}"
ssh_identity = "{self.client_key}"
ssh_known_hosts = "{known_hosts or self.known_hosts}"
libvirt = ["qemu:///system"]
docker = "unix:///run/docker.sock"
read_only = {str(hostb_read_only).lower()}
label = "red"
{extra}
"""


@pytest.fixture(scope="session")
def lab() -> Lab:
    facts = _lab_env()
    reason = f"the lab is not up ({LAB_DIR}/lab.env missing): run tests/lab/up"
    if not facts:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    the_lab = Lab(facts)
    # A run killed in the middle of a cut-the-wire test leaves hostb's link down.
    subprocess.run(["ip", "link", "set", "tvlab0", "up"], capture_output=True, check=False)
    subprocess.run(["ip", "netns", "exec", "hostb", "ip", "link", "set", "tvlab1", "up"],
                   capture_output=True, check=False)  # the fleet test cuts hostb's side
    probe = subprocess.run(["virsh", "-q", "-c", "qemu:///system", "version"],
                           capture_output=True, timeout=30)
    if probe.returncode != 0 or not the_lab.holder:
        message = "the lab's libvirtd does not answer: run tests/lab/up"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return the_lab


@pytest.fixture()
def state_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Backups and drafts go to a private XDG state dir per test."""
    path = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(path))
    return path


@pytest.fixture()
def lab_config(lab: Lab, tmp_path: Path, state_home: Path) -> Path:
    path = tmp_path / "lab.toml"
    path.write_text(lab.config_text())
    return path


def run_cli(*args: str, config: Path | None = None, timeout: float = 120,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `tuivirt` command as a user would (a new process each time)."""
    cmd = [sys.executable, "-m", "tuivirt"]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                          input=stdin if stdin is not None else "", env=os.environ.copy())


def tiny_xml(lab: Lab, name: str, memory_mib: int = 128) -> str:
    images = lab.dir / "images"
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{images}/vmlinuz</kernel>
    <initrd>{images}/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
"""


@pytest.fixture()
def scratch_vm(lab: Lab, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes fresh tiny QEMU guests on "local" or "hostb"; removes them afterwards."""
    created: list[tuple[str, str]] = []

    def make(host: str) -> str:
        name = f"tvtest-{uuid.uuid4().hex[:8]}"
        xml_file = tmp_path / f"{name}.xml"
        xml_file.write_text(tiny_xml(lab, name))
        if host == "hostb":
            # hostb has its own /run, and our tmp_path may not be where it looks.
            subprocess.run([*lab.hostb_prefix(), "sh", "-c",
                            f"cat > /tmp/{name}.xml && virsh -q define /tmp/{name}.xml"],
                           input=xml_file.read_text(), text=True, check=True,
                           capture_output=True, timeout=60)
        else:
            lab.virsh(host, "define", str(xml_file))
        created.append((host, name))
        return name

    yield make
    for host, name in created:
        lab.virsh(host, "destroy", name, check=False)
        lab.virsh(host, "undefine", name, check=False)


@pytest.fixture()
def faults(lab: Lab) -> Iterator[Faults]:
    """Kill, hang and restart the lab's daemons; alone on the machine, put back after."""
    with exclusive_faults(lab.dir, lab.holder) as the_faults:
        yield the_faults


@pytest.fixture()
def running_vm(lab: Lab, scratch_vm: Callable[[str], str]) -> Callable[[str], str]:
    """A fresh tiny QEMU guest, started (its console opens at once; no need to boot)."""
    def make(host: str) -> str:
        name = scratch_vm(host)
        lab.virsh(host, "start", name)
        return name

    return make
