"""`tuivirt create lxc` and `tuivirt create container` on both lab hosts: what is made
runs (an LXC container's console answers; a Docker container carries every setting), and
what is refused leaves nothing behind.

(No registry exists on the lab, so a pull that succeeds cannot be tested here; the
progress of one is unit-tested on recorded events, tests/unit/test_create_ct.py.)
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Lab, run_cli
from tests.ui.pilot import UserTerminal, shows

pytestmark = pytest.mark.lab

LXC = "lxc:///system"
HOSTS = ["local", "hostb"]


@pytest.fixture()
def ct_config(lab: Lab, tmp_path: Path, state_home: Path) -> Path:
    """The lab's config with hostb's LXC connection too (the shared one has QEMU only)."""
    text = lab.config_text().replace('libvirt = ["qemu:///system"]\n',
                                     'libvirt = ["qemu:///system", "lxc:///system"]\n')
    assert text.count("lxc:///system") == 2
    path = tmp_path / "ct.toml"
    path.write_text(text)
    return path


@pytest.fixture()
def names(lab: Lab) -> Iterator[Callable[[str], str]]:
    """Fresh tvtest-ct-<hex> names; whatever was made under them is removed afterwards."""
    made: list[tuple[str, str]] = []

    def make(host: str) -> str:
        name = f"tvtest-ct-{uuid.uuid4().hex[:8]}"
        made.append((host, name))
        return name

    yield make
    for host, name in made:
        lab.virsh(host, "destroy", name, uri=LXC, check=False)
        lab.virsh(host, "undefine", name, uri=LXC, check=False)
        lab.docker(host, "rm", "-f", "-v", name, check=False)


def lxc_names(lab: Lab, host: str) -> list[str]:
    return lab.virsh(host, "list", "--all", "--name", uri=LXC).split()


def container_names(lab: Lab, host: str) -> list[str]:
    return lab.docker(host, "ps", "-a", "--format", "{{.Names}}").split()


# -- LXC from a directory -----------------------------------------------------------------
@pytest.mark.parametrize("host", HOSTS)
def test_lxc_container_from_a_directory_boots_and_its_console_answers(
        lab: Lab, ct_config: Path, names: Callable[[str], str], host: str) -> None:
    name = names(host)
    root = lab.dir / "rootfs"
    began = time.monotonic()
    proc = run_cli("create", "lxc", host, name, "--root", str(root), "--init", "/ctinit",
                   "--memory", "64M", "--start", config=ct_config)
    created = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{host}/{name}: created (lxc, running; root {root}")
    assert lab.domstate(host, name, uri=LXC) == "running"
    dumped = lab.virsh(host, "dumpxml", "--inactive", name, uri=LXC)
    assert f"<source dir='{root}'/>" in dumped and "<init>/ctinit</init>" in dumped

    term = UserTerminal(["--config", str(ct_config), "console", f"{host}/{name}"])
    try:
        assert term.wait(shows("connected"), 60), "\n".join(term.lines())
        end = time.monotonic() + 30
        while not term.wait(shows("tiny#"), 2) and time.monotonic() < end:
            term.type(b"\r")
        term.type(b"echo made-$((6 * 7))\r")
        assert term.shows_line("made-42"), "\n".join(term.lines())
        term.type(b"\x1d")  # ctrl+]: leaves the console, the container runs on
        assert term.proc.wait(15) == 0
    finally:
        term.close()
    print(f"{host}: create lxc --start took {created:.2f} s (a new process, connect included)")


@pytest.mark.parametrize("host", HOSTS)
def test_lxc_refused_before_anything_is_defined(
        lab: Lab, ct_config: Path, names: Callable[[str], str], tmp_path: Path,
        host: str) -> None:
    name = names(host)
    missing = tmp_path / "no-such-root"
    proc = run_cli("create", "lxc", host, name, "--root", str(missing), config=ct_config)
    assert proc.returncode == 1
    assert f"{host}/{name}: no directory {missing} on {host}" in proc.stderr

    # A tree without the init: the lab's rootfs has no /sbin/init (its init is /ctinit).
    root = lab.dir / "rootfs"
    proc = run_cli("create", "lxc", host, name, "--root", str(root), "--start",
                   config=ct_config)
    assert proc.returncode == 1
    assert f"{root} on {host} holds no init /sbin/init" in proc.stderr

    # An init that is there but cannot run, and one that only the host's own / has.
    tree = tmp_path / "tree"
    (tree / "sbin").mkdir(parents=True)
    (tree / "sbin" / "init").write_text("#!/bin/sh\n")
    proc = run_cli("create", "lxc", host, name, "--root", str(tree), config=ct_config)
    assert proc.returncode == 1
    assert "the init /sbin/init in" in proc.stderr and "is not executable" in proc.stderr
    (tree / "bin").mkdir()
    (tree / "bin" / "sh").symlink_to("/bin/busybox")  # the host has one, the tree not
    proc = run_cli("create", "lxc", host, name, "--root", str(tree), "--init", "/bin/sh",
                   config=ct_config)
    assert proc.returncode == 1
    assert "holds no init /bin/sh (resolved inside the root to /bin/busybox)" \
        in proc.stderr
    assert name not in lxc_names(lab, host)


def test_lxc_name_taken_and_read_only_host_are_refused(
        lab: Lab, ct_config: Path, tmp_path: Path) -> None:
    root = lab.dir / "rootfs"
    before = lab.virsh("local", "dumpxml", "--inactive", "tinyct", uri=LXC)
    proc = run_cli("create", "lxc", "local", "tinyct", "--root", str(root), "--init",
                   "/ctinit", "--memory", "32M", config=ct_config)
    assert proc.returncode == 1
    assert "the name 'tinyct' is taken on local: local/lxc:tinyct" in proc.stderr
    assert lab.virsh("local", "dumpxml", "--inactive", "tinyct", uri=LXC) == before

    read_only = tmp_path / "ro.toml"
    read_only.write_text(ct_config.read_text().replace("read_only = false",
                                                       "read_only = true"))
    proc = run_cli("create", "lxc", "hostb", "tvtest-ct-never", "--root", str(root),
                   "--init", "/ctinit", config=read_only)
    assert proc.returncode == 1
    assert "host hostb is read-only: refusing to create container tvtest-ct-never" \
        in proc.stderr
    assert "tvtest-ct-never" not in lxc_names(lab, "hostb")


# -- Docker from an image -------------------------------------------------------------------
@pytest.mark.parametrize("host", HOSTS)
def test_docker_container_from_an_image_runs_with_every_setting(
        lab: Lab, ct_config: Path, names: Callable[[str], str], tmp_path: Path,
        host: str) -> None:
    name = names(host)
    port = random.randint(20000, 29999)
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello").write_text("from the host\n")
    began = time.monotonic()
    proc = run_cli("create", "container", host, name, "--image", "tiny",
                   "--cmd", "sh -c 'cat /data/hello; echo \"$GREETING\"; sleep 1000'",
                   "--env", "GREETING=hi there", "--port", f"{port}:80",
                   "--volume", f"{data}:/data:ro", "--restart", "on-failure:3", "--start",
                   config=ct_config)
    created = time.monotonic() - began
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (f"{host}/{name}: created (docker, running; image tiny:latest, "
                           f"port {port}:80/tcp, volume {data}:/data:ro, 1 env, restart "
                           "on-failure:3)\n")
    info = json.loads(lab.docker(host, "inspect", name))[0]
    assert info["State"]["Running"] is True
    assert info["Config"]["Image"] == "tiny:latest"
    assert info["Config"]["Cmd"] == ["sh", "-c",
                                     'cat /data/hello; echo "$GREETING"; sleep 1000']
    assert "GREETING=hi there" in info["Config"]["Env"]
    assert info["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": str(port)}]}
    assert [(m["Type"], m["Source"], m["Destination"], m["RW"]) for m in info["Mounts"]] \
        == [("bind", str(data), "/data", False)]
    assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                   "MaximumRetryCount": 3}
    end = time.monotonic() + 15
    while "hi there" not in (logs := lab.docker(host, "logs", name)) \
            and time.monotonic() < end:
        time.sleep(0.2)
    assert logs == "from the host\nhi there\n"
    # ...and it shows where every guest shows.
    listed = json.loads(run_cli("list", "--json", "--host", host, config=ct_config).stdout)
    assert any(g["name"] == name and g["kind"] == "docker" and g["state"] == "running"
               for g in listed)
    print(f"{host}: create container --start took {created:.2f} s (a new process)")


@pytest.mark.parametrize("host", HOSTS)
def test_docker_refusals_leave_nothing_behind(
        lab: Lab, ct_config: Path, names: Callable[[str], str], host: str) -> None:
    taken = "tinybox" if host == "local" else "boxb"
    proc = run_cli("create", "container", host, taken, "--image", "tiny",
                   config=ct_config)
    assert proc.returncode == 1
    assert f"the name '{taken}' is taken on {host}: {host}/docker:{taken}" in proc.stderr

    name = names(host)
    # An image no registry has: the daemon's (the registry's) words, nothing created.
    proc = run_cli("create", "container", host, name, "--image",
                   "127.0.0.1:1/tvtest/none:1", "--start", config=ct_config)
    assert proc.returncode == 1
    assert f"{host}/{name}: cannot pull 127.0.0.1:1/tvtest/none:1: " in proc.stderr
    assert "connection refused" in proc.stderr

    # The lab's image (imported from a tree) has no command of its own.
    proc = run_cli("create", "container", host, name, "--image", "tiny", config=ct_config)
    assert proc.returncode == 1
    assert proc.stderr == (f"tuivirt: {host}/{name}: No command specified: the image "
                           "tiny:latest has no command of its own; give one with --cmd\n")

    # Made, but it cannot start: removed again, and said so; the named volume Docker made
    # for it goes too (nothing is left), one that was there before stays.
    fresh, kept = f"{name}-data", f"{name}-kept"
    lab.docker(host, "volume", "create", kept)
    try:
        proc = run_cli("create", "container", host, name, "--image", "tiny", "--cmd",
                       "/no/such/program", "--volume", f"{fresh}:/data",
                       "--volume", f"{kept}:/kept", "--start", config=ct_config)
        assert proc.returncode == 1
        assert "created, but it did not start: " in proc.stderr
        assert "/no/such/program" in proc.stderr
        assert "it was removed again: nothing is left on the host" in proc.stderr
        assert name not in container_names(lab, host)
        volumes = lab.docker(host, "volume", "ls", "-q").split()
        assert fresh not in volumes and kept in volumes
    finally:
        lab.docker(host, "volume", "rm", "-f", fresh, kept, check=False)

    # Malformed input is a usage error, before the host is asked.
    for flag, value in (("--port", "80"), ("--env", "NOEQUALS"), ("--volume", "./rel:/x"),
                        ("--restart", "sometimes")):
        proc = run_cli("create", "container", host, name, "--image", "tiny", flag, value,
                       config=ct_config)
        assert proc.returncode == 2, (flag, proc.stderr)
        assert proc.stderr.startswith(f"tuivirt: {flag} {value!r}: "), proc.stderr
    assert name not in container_names(lab, host)
