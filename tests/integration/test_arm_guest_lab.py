"""A foreign-architecture guest on both lab hosts: aarch64 under TCG, its console answering.

The lab (tests/lab/arm) installs qemu-system-arm and leaves an arm64 kernel and busybox
initramfs in its image dir; this test boots them as a transient domain on each host and
talks to the guest through `tuivirt console`, tuivirt's own console code on a real pty.
It is the ground issue 13's guest creation stands on: the XML below is what libvirt accepts
for such a guest and what the creation code has to produce.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI, Lab
from tests.ui.pilot import UserTerminal, shows

pytestmark = pytest.mark.lab

PROMPT = "tinyarm#"
ARM_FILES = ("arm64-vmlinuz", "arm64-initrd.gz")


def arm64_xml(lab: Lab, name: str) -> str:
    """aarch64 on QEMU's 'virt' machine under TCG, booted straight from kernel + initrd.

    No firmware (no UEFI: the kernel is loaded by QEMU); libvirt adds the PL011 serial
    (target type system-serial), GICv2 and a pcie-root controller by itself.
    """
    images = lab.dir / "images"
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='aarch64' machine='virt'>hvm</type>
    <kernel>{images}/arm64-vmlinuz</kernel>
    <initrd>{images}/arm64-initrd.gz</initrd>
    <cmdline>console=ttyAMA0 quiet</cmdline>
  </os>
  <cpu mode='custom' match='exact'><model fallback='forbid'>cortex-a57</model></cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <devices>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
"""


@pytest.fixture()
def transient_arm_vm(lab: Lab) -> Iterator[Callable[[str], str]]:
    """Starts a transient aarch64 guest on a host; gone afterwards, whatever happened."""
    missing = [f for f in ARM_FILES if not (lab.dir / "images" / f).is_file()]
    if missing:
        reason = f"the lab has no {', '.join(missing)}: run tests/lab/up"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    started: list[tuple[str, str]] = []

    def make(host: str) -> str:
        name = f"tvtest-arm-{uuid.uuid4().hex[:8]}"
        prefix = lab.hostb_prefix() if host == "hostb" else []
        started.append((host, name))
        proc = subprocess.run([*prefix, "virsh", "-q", "-c", "qemu:///system", "create",
                               "/dev/stdin"], input=arm64_xml(lab, name), text=True,
                              capture_output=True, timeout=120)
        assert proc.returncode == 0, f"virsh create on {host}: {proc.stderr}"
        return name

    yield make
    for host, name in started:
        # A transient domain leaves nothing behind once destroyed.
        lab.virsh(host, "destroy", name, check=False)


@pytest.mark.parametrize("host", ["local", "hostb"])
def test_aarch64_guest_boots_under_tcg_and_its_console_answers(
        lab: Lab, lab_config: Path, transient_arm_vm: Callable[[str], str],
        host: str) -> None:
    began = time.monotonic()
    name = transient_arm_vm(host)
    dumped = lab.virsh(host, "dumpxml", name)
    assert "<emulator>/usr/bin/qemu-system-aarch64</emulator>" in dumped
    assert "<model name='pl011'/>" in dumped  # the serial libvirt chose: ttyAMA0 inside

    term = UserTerminal(["--config", str(lab_config), "console", f"{host}/{name}"])
    try:
        assert term.wait(shows("connected"), 60), "\n".join(term.lines())
        # The guest boots under TCG: press enter until its shell's prompt shows.
        end = began + 240
        while not term.wait(shows(PROMPT), 3) and time.monotonic() < end:
            term.type(b"\r")
        assert term.wait(shows(PROMPT), 1), "\n".join(term.lines())
        boot_seconds = time.monotonic() - began
        term.type(b"uname -m\r")
        assert term.shows_line("aarch64"), "\n".join(term.lines())
        term.type(b"\x1d")  # ctrl+]: leaves the console, the guest runs on
        assert term.proc.wait(15) == 0
    finally:
        term.close()
    assert lab.domstate(host, name) == "running"
    print(f"{host}: aarch64 guest at its prompt {boot_seconds:.1f} s after create")
