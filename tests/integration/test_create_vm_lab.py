"""`tuivirt create vm` end to end on both lab hosts: the guest boots and its console
answers a typed command (tuivirt's own console on a real pty); bad input is refused with
its message and leaves nothing behind (checked with virsh, not with tuivirt).

Names are tvtest-vm-<hex>; every domain is destroyed and undefined and every volume
deleted afterwards, whatever happened.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI, Lab, run_cli
from tests.ui.pilot import UserTerminal, shows

pytestmark = pytest.mark.lab

HOSTS = ["local", "hostb"]
POOL = "tvlab"


def images(lab: Lab) -> Path:
    return lab.dir / "images"


def domains(lab: Lab, host: str) -> list[str]:
    return lab.virsh(host, "list", "--all", "--name").split()


def volumes(lab: Lab, host: str) -> list[str]:
    lab.virsh(host, "pool-refresh", POOL, check=False)
    return [line.split()[0] for line in lab.virsh(host, "vol-list", POOL).splitlines()
            if line.strip()]


@pytest.fixture()
def vm_name(lab: Lab) -> Iterator[Callable[[str], str]]:
    """Fresh tvtest-vm-<hex> names; whatever got made under them is removed after."""
    made: list[tuple[str, str]] = []

    def make(host: str) -> str:
        name = f"tvtest-vm-{uuid.uuid4().hex[:8]}"
        made.append((host, name))
        return name

    yield make
    for host, name in made:
        lab.virsh(host, "destroy", name, check=False)
        lab.virsh(host, "undefine", name, check=False)
        lab.virsh(host, "vol-delete", "--pool", POOL, f"{name}.qcow2", check=False)


def need(lab: Lab, *files: str) -> None:
    missing = [f for f in files if not (images(lab) / f).is_file()]
    if missing:
        reason = f"the lab has no {', '.join(missing)}: run tests/lab/up"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def console_answers(config: Path, host: str, name: str, prompt: str, command: bytes,
                    answer: str, began: float, budget: float) -> float:
    """Types `command` on the guest's console once its prompt shows; seconds to prompt."""
    term = UserTerminal(["--config", str(config), "console", f"{host}/{name}"])
    try:
        assert term.wait(shows("connected"), 60), "\n".join(term.lines())
        end = began + budget
        while not term.wait(shows(prompt), 3) and time.monotonic() < end:
            term.type(b"\r")  # the guest may have printed its prompt before we came
        assert term.wait(shows(prompt), 1), "\n".join(term.lines())
        at_prompt = time.monotonic() - began
        term.type(command + b"\r")
        assert term.shows_line(answer), "\n".join(term.lines())
        term.type(b"\x1d")  # ctrl+]: leave the console; the guest runs on
        assert term.proc.wait(15) == 0
    finally:
        term.close()
    return at_prompt


@pytest.mark.parametrize("host", HOSTS)
def test_x86_64_vm_from_a_new_volume_and_kernel_boots_and_its_console_answers(
        lab: Lab, lab_config: Path, vm_name: Callable[[str], str], host: str) -> None:
    need(lab, "vmlinuz", "initrd.gz")
    name = vm_name(host)
    began = time.monotonic()
    done = run_cli("create", "vm", host, name, "--arch", "x86_64", "--memory", "128M",
                   "--new-volume", f"{POOL}:64M", "--kernel", str(images(lab) / "vmlinuz"),
                   "--initrd", str(images(lab) / "initrd.gz"), "--cmdline", "quiet",
                   "--start", config=lab_config)
    created = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert f"{host}/{name}: started" in done.stdout
    assert "console=ttyS0 added" in done.stdout
    assert lab.domstate(host, name) == "running"
    xml = lab.virsh(host, "dumpxml", "--inactive", name)
    assert f"<source pool='{POOL}' volume='{name}.qcow2'" in xml
    assert "console=ttyS0" in xml
    assert f"{name}.qcow2" in volumes(lab, host)
    prompt_s = console_answers(lab_config, host, name, "tiny#", b"echo made-$((6*7))",
                               "made-42", began, 120)
    print(f"{host}: x86_64 created in {created:.2f} s, at its prompt {prompt_s:.1f} s "
          "after the command")


@pytest.mark.parametrize("host", HOSTS)
def test_aarch64_vm_under_tcg_boots_and_its_console_answers(
        lab: Lab, lab_config: Path, vm_name: Callable[[str], str], host: str) -> None:
    need(lab, "arm64-vmlinuz", "arm64-initrd.gz")
    name = vm_name(host)
    began = time.monotonic()
    done = run_cli("create", "vm", host, name, "--arch", "aarch64", "--memory", "256M",
                   "--kernel", str(images(lab) / "arm64-vmlinuz"),
                   "--initrd", str(images(lab) / "arm64-initrd.gz"), "--cmdline", "quiet",
                   "--start", config=lab_config)
    assert done.returncode == 0, done.stderr
    assert "aarch64 under TCG" in done.stdout  # said plainly
    xml = lab.virsh(host, "dumpxml", name)
    assert "<type arch='aarch64' machine='virt" in xml
    assert "<domain type='qemu'" in xml
    assert "console=ttyAMA0" in xml
    prompt_s = console_answers(lab_config, host, name, "tinyarm#", b"uname -m", "aarch64",
                               began, 240)
    print(f"{host}: aarch64 (TCG) at its prompt {prompt_s:.1f} s after the command")


def test_print_prints_the_definition_and_defines_nothing(
        lab: Lab, lab_config: Path, vm_name: Callable[[str], str]) -> None:
    name = vm_name("hostb")
    before = volumes(lab, "hostb")
    done = run_cli("create", "vm", "hostb", name, "--arch", "armv7l", "--new-volume",
                   f"{POOL}:1G", "--kernel", str(images(lab) / "arm64-vmlinuz"), "--print",
                   config=lab_config)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('<domain type="qemu">')
    assert f"<name>{name}</name>" in done.stdout
    assert '<type arch="armv7l" machine="virt">hvm</type>' in done.stdout
    assert "<cmdline>console=ttyAMA0</cmdline>" in done.stdout
    assert "cortex-a15" in done.stdout
    assert "armv7l under TCG" in done.stderr
    assert name not in domains(lab, "hostb")
    assert volumes(lab, "hostb") == before


def refused(lab: Lab, lab_config: Path, host: str, name: str, *args: str,
            rc: int = 2) -> str:
    """Runs a create that must fail; asserts nothing was left; returns its stderr."""
    before, guests = volumes(lab, host), domains(lab, host)
    done = run_cli("create", "vm", host, name, *args, config=lab_config)
    assert done.returncode == rc, (done.stdout, done.stderr)
    assert domains(lab, host) == guests
    assert volumes(lab, host) == before
    return done.stderr


@pytest.mark.parametrize("host", HOSTS)
def test_bad_input_is_refused_and_leaves_nothing(
        lab: Lab, lab_config: Path, vm_name: Callable[[str], str], host: str) -> None:
    kernel = str(images(lab) / "vmlinuz")
    name = vm_name(host)
    new = ("--new-volume", f"{POOL}:64M", "--kernel", kernel)
    # A name already taken on that host (the lab's own guest).
    taken = "tiny" if host == "local" else "tinyb"
    err = refused(lab, lab_config, host, taken, *new)
    assert f"a VM named '{taken}' already exists on {host}" in err
    assert f"{taken}.qcow2" not in volumes(lab, host)
    # The new volume's name taken in the pool (made here; removed by vm_name after).
    lab.virsh(host, "vol-create-as", POOL, f"{name}.qcow2", "1M", "--format", "qcow2")
    err = refused(lab, lab_config, host, name, *new)
    assert f"a volume named '{name}.qcow2' already exists in pool {POOL} on {host}" in err
    lab.virsh(host, "vol-delete", "--pool", POOL, f"{name}.qcow2")
    # An architecture the host cannot run.
    err = refused(lab, lab_config, host, name, "--arch", "s390x", *new)
    assert f"host {host} cannot run s390x guests" in err and "aarch64" in err
    # A pool without room.
    err = refused(lab, lab_config, host, name, "--new-volume", f"{POOL}:900T",
                  "--kernel", kernel)
    assert f"not enough room: pool {POOL} has" in err
    # A kernel that is not there (on that host: hostb has its own files).
    err = refused(lab, lab_config, host, name, "--new-volume", f"{POOL}:64M", "--kernel",
                  "/nonexistent/vmlinuz")
    assert f"kernel /nonexistent/vmlinuz does not exist on {host}" in err


@pytest.mark.parametrize("host", HOSTS)
def test_a_define_libvirt_refuses_removes_the_new_volume_again(
        lab: Lab, lab_config: Path, vm_name: Callable[[str], str], host: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the host offers is read once per connection: an emulator replaced since
    (here: a machine type the read said exists and QEMU does not have) passes our checks,
    the volume is made, and libvirt refuses the definition: the volume goes again."""
    from dataclasses import replace

    from tuivirt.config import load_config
    from tuivirt.create.caps import Machine
    from tuivirt.create.vm import KernelBoot, NewVolume, VMSpec
    from tuivirt.errors import GuestError
    from tuivirt.session import Fleet

    name = vm_name(host)
    before = volumes(lab, host)
    fleet = Fleet(load_config(str(lab_config)))
    try:
        assert not fleet.connect([host])
        session = fleet.session(host)
        options = session.vm_options()
        x86 = options.arch("x86_64")
        assert x86 is not None
        stale = replace(x86, machines=(*x86.machines, Machine("no-such-board")))
        monkeypatch.setattr(session, "vm_options", lambda **_kw: replace(
            options, archs=tuple(stale if a.arch == "x86_64" else a for a in options.archs)))
        spec = VMSpec(host=host, name=name, arch="x86_64", machine="no-such-board",
                      memory_mib=128, disk=NewVolume(POOL, 64 << 20),
                      kernel=KernelBoot(str(images(lab) / "vmlinuz")))
        with pytest.raises(GuestError) as caught:
            session.create_vm(spec)
    finally:
        fleet.close()
    message = caught.value.message
    assert message.startswith("defining it failed: ")
    assert len(message) > len("defining it failed: ") + 40  # libvirt's own words
    assert message.endswith(f"(the new volume {POOL}/{name}.qcow2 was removed)")
    assert name not in domains(lab, host)
    assert volumes(lab, host) == before


def test_a_start_that_fails_undefines_the_vm_and_removes_its_volume(
        lab: Lab, lab_config: Path, vm_name: Callable[[str], str]) -> None:
    """The lab's `default` network is defined but not active: the VM defines, QEMU
    cannot start on it, and nothing of it is left."""
    if "Active:         no" not in lab.virsh("local", "net-info", "default", check=False):
        pytest.skip("the local `default` network is active here")
    name = vm_name("local")
    err = refused(lab, lab_config, "local", name, "--network", "default", "--new-volume",
                  f"{POOL}:64M", "--kernel", str(images(lab) / "vmlinuz"), "--start", rc=1)
    assert "starting it failed: " in err
    assert (f"(its definition was removed again; the new volume {POOL}/{name}.qcow2 was "
            "removed)") in err


def test_a_read_only_host_refuses_and_print_still_works(
        lab: Lab, tmp_path: Path, state_home: Path, vm_name: Callable[[str], str]) -> None:
    config = tmp_path / "ro.toml"
    config.write_text(lab.config_text(hostb_read_only=True))
    name = vm_name("hostb")
    args = ("--new-volume", f"{POOL}:64M", "--kernel", str(images(lab) / "vmlinuz"))
    before, guests = volumes(lab, "hostb"), domains(lab, "hostb")
    done = run_cli("create", "vm", "hostb", name, *args, config=config)
    assert done.returncode == 1
    assert f"host hostb is read-only: refusing to create VM {name}" in done.stderr
    assert volumes(lab, "hostb") == before and domains(lab, "hostb") == guests
    done = run_cli("create", "vm", "hostb", name, *args, "--print", config=config)
    assert done.returncode == 0, done.stderr
    assert f"<name>{name}</name>" in done.stdout


@pytest.mark.parametrize("host", HOSTS)
def test_create_options_lists_what_the_host_offers(lab: Lab, lab_config: Path,
                                                   host: str) -> None:
    import json

    done = run_cli("create", "options", host, config=lab_config)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]
            if line and not line.startswith(("*", "KVM"))}
    assert rows["aarch64"][1:4] == ["tcg", "virt", "ttyAMA0"]
    assert rows["x86_64"][1] == "*" and rows["x86_64"][2] in ("tcg", "kvm")
    began = time.monotonic()
    done = run_cli("create", "options", host, "--json", config=lab_config)
    took = time.monotonic() - began
    data = json.loads(done.stdout)
    arm = next(a for a in data["archs"] if a["arch"] == "aarch64")
    assert "cortex-a57" in arm["cpu_models"] and "virt" in arm["machines"]
    print(f"{host}: create options --json in {took:.2f} s (a new process)")
