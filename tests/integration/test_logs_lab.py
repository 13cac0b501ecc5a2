"""`tuivirt logs` on the lab: a container's output (local, and hostb's through its SSH
link) and a libvirt guest's hypervisor log on both hosts; hostile bytes made inert on a
terminal and left exact in a pipe; a follow sees new lines and ends cleanly on ctrl+c."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Lab, run_cli
from tests.ptyrun import PtyRun

pytestmark = pytest.mark.lab

HOSTS = ["local", "hostb"]


@pytest.fixture()
def container(lab: Lab) -> Iterator[Callable[[str, str], str]]:
    """Runs `sh -c SCRIPT` in a fresh container on a host; removed afterwards."""
    made: list[tuple[str, str]] = []

    def run(host: str, script: str) -> str:
        name = f"tvtest-log-{uuid.uuid4().hex[:8]}"
        lab.docker(host, "run", "-d", "--network", "none", "--name", name, "tiny:latest",
                   "sh", "-c", script)
        made.append((host, name))
        return name

    yield run
    for host, name in made:
        lab.docker(host, "rm", "-f", name, check=False)


def wait_logs(lab: Lab, host: str, name: str, text: str, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while text not in lab.docker(host, "logs", name, check=False):
        assert time.monotonic() < end, f"{text!r} never logged by {name}"
        time.sleep(0.1)


@pytest.mark.parametrize("host", HOSTS)
def test_container_logs_tail_and_since(lab: Lab, lab_config: Path, host: str,
                                       container: Callable[[str, str], str]) -> None:
    name = container(host, "echo one; sleep 0.3; echo two 1>&2; sleep 0.3; echo three; "
                           "sleep 3; echo late; "
                           "sleep 600")
    wait_logs(lab, host, name, "three")
    between = time.time() + 0.3
    wait_logs(lab, host, name, "late")
    address = f"{host}/{name}"

    everything = run_cli("logs", address, config=lab_config, timeout=60)
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout == "one\ntwo\nthree\nlate\n"  # stderr's line too, in order

    last = run_cli("logs", address, "--tail", "2", config=lab_config, timeout=60)
    assert last.stdout == "three\nlate\n"

    stamp = datetime.fromtimestamp(between, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    since = run_cli("logs", address, "--since", stamp, config=lab_config, timeout=60)
    assert since.stdout == "late\n", since.stderr

    stamped = run_cli("logs", address, "--timestamps", "--tail", "1", config=lab_config,
                      timeout=60)
    when, _, text = stamped.stdout.strip().partition(" ")
    assert text == "late" and when.startswith(str(datetime.now(UTC).year))


@pytest.mark.parametrize("host", HOSTS)
def test_follow_shows_new_lines_and_ctrl_c_ends_it(lab: Lab, lab_config: Path, host: str,
                                                   container: Callable[[str, str], str]
                                                   ) -> None:
    name = container(host, "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done")
    wait_logs(lab, host, name, "tick-0")
    proc = subprocess.Popen([sys.executable, "-m", "tuivirt", "--config", str(lab_config),
                             "logs", "-f", "--tail", "0", f"{host}/{name}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        seen: list[bytes] = []
        end = time.monotonic() + 30
        while len(seen) < 5 and time.monotonic() < end:
            seen.append(proc.stdout.readline())
        # Lines written after the follow began, one after the other (--tail 0: no past).
        numbers = [int(line.decode().strip().removeprefix("tick-")) for line in seen]
        assert len(numbers) == 5 and numbers == list(range(numbers[0], numbers[0] + 5))
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert b"Traceback" not in err and b"interrupted" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Tty(PtyRun):
    def __init__(self, argv: list[str]) -> None:
        self.output = bytearray()
        super().__init__(argv)

    def received(self, data: bytes) -> None:
        self.output += data


def test_hostile_bytes_are_inert_on_a_terminal_exact_in_a_pipe(
        lab: Lab, lab_config: Path, container: Callable[[str, str], str]) -> None:
    # OSC 52 (writes the clipboard), a title change, a C1 CSI, a bidi override.
    script = r"printf 'a\033]52;c;aGk=\007b\033]2;pwned\007c\302\233Jd\342\200\256e\n'"
    name = container("local", script + "; sleep 600")
    wait_logs(lab, "local", name, "a")
    exact = subprocess.run([sys.executable, "-m", "tuivirt", "--config", str(lab_config),
                            "logs", f"local/{name}"], capture_output=True, timeout=60)
    assert exact.stdout == b"a\x1b]52;c;aGk=\x07b\x1b]2;pwned\x07c\xc2\x9bJd\xe2\x80\xaee\n"

    term = Tty([sys.executable, "-m", "tuivirt", "--config", str(lab_config), "logs",
                f"local/{name}"])
    assert term.proc.wait(60) == 0
    time.sleep(0.2)
    shown = bytes(term.output)
    term.close()
    assert b"\x1b" not in shown and b"\x07" not in shown and b"\xc2\x9b" not in shown
    assert b"\xe2\x80\xae" not in shown
    assert rb"a\x1b]52;c;aGk=\x07b\x1b]2;pwned\x07c\x9bJd\u202ee" in shown


@pytest.mark.parametrize("host", HOSTS)
def test_hypervisor_log_of_a_libvirt_guest(lab: Lab, lab_config: Path, host: str,
                                           running_vm: Callable[[str], str]) -> None:
    name = running_vm(host)
    out = run_cli("logs", f"{host}/{name}", config=lab_config, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "starting up libvirt version" in out.stdout
    assert f"-name guest={name}" in out.stdout  # QEMU's command line: this guest's log

    # --follow sees what libvirt writes next (its lines for the guest's end).
    proc = subprocess.Popen([sys.executable, "-m", "tuivirt", "--config", str(lab_config),
                             "logs", "-f", "--tail", "1", f"{host}/{name}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the last line: following from here
        lab.virsh(host, "destroy", name)
        end = time.monotonic() + 30
        lines = b""
        while b"shutting down" not in lines and time.monotonic() < end:
            lines += proc.stdout.readline()
        assert b"shutting down, reason=destroyed" in lines
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("host", HOSTS)
def test_missing_log_says_so(lab: Lab, lab_config: Path, host: str,
                             scratch_vm: Callable[[str], str]) -> None:
    name = scratch_vm(host)  # defined, never started: libvirt has written no log
    out = run_cli("logs", f"{host}/{name}", config=lab_config, timeout=60)
    assert out.returncode == 1
    assert f"no hypervisor log: /var/log/libvirt/qemu/{name}.log does not exist on " \
        f"{host}" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_guest_name_never_reaches_the_remote_shell(lab: Lab, lab_config: Path,
                                                     tmp_path: Path) -> None:
    """A name full of shell syntax is a file name to the remote `test`/`tail`, nothing
    more: no file is made on hostb."""
    marker = f"tvpwn{uuid.uuid4().hex[:8]}"  # relative: libvirt refuses a / in a name
    name = f"tvtest-$(touch {marker})';touch {marker};'"
    xml = (f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>"
           "<os><type arch='x86_64'>hvm</type></os></domain>")
    subprocess.run([*lab.hostb_prefix(), "sh", "-c", 'cat > /tmp/tvtest-pwn.xml && '
                    'virsh -q define /tmp/tvtest-pwn.xml'], input=xml,
                   text=True, check=True, capture_output=True, timeout=60)
    try:
        out = run_cli("logs", f"hostb/{name}", config=lab_config, timeout=60)
        assert out.returncode == 1 and "no hypervisor log" in out.stderr, out.stderr
        for where in ("/root", "/", "/tmp"):  # the remote shell's cwd: root's home
            made = subprocess.run([*lab.hostb_prefix(), "test", "-e", f"{where}/{marker}"],
                                  check=False, timeout=30).returncode == 0
            assert not made, f"{where}/{marker} was made on hostb"
    finally:
        subprocess.run([*lab.hostb_prefix(), "virsh", "-q", "undefine", name],
                       capture_output=True, check=False, timeout=60)
        subprocess.run([*lab.hostb_prefix(), "rm", "-f", "/tmp/tvtest-pwn.xml"],
                       capture_output=True, check=False, timeout=30)


def test_a_quiet_follow_outlasts_the_clients_timeout(lab: Lab, tmp_path: Path,
                                                     container: Callable[[str, str], str]
                                                     ) -> None:
    """The Docker client's read timeout (6x the host's timeout: 6 s here) is for calls,
    not for a log that is quiet a while."""
    config = tmp_path / "quick.toml"
    config.write_text("timeout = 1\n" + lab.config_text())
    name = container("local", "echo first; sleep 9; echo after-the-quiet; sleep 600")
    wait_logs(lab, "local", name, "first")
    proc = subprocess.Popen([sys.executable, "-m", "tuivirt", "--config", str(config),
                             "logs", "-f", f"local/{name}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"first\n"
        assert proc.stdout.readline() == b"after-the-quiet\n"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
