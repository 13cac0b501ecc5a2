"""Fault injection on the lab's daemons: kill, hang (SIGSTOP) and restart them.

One test at a time across the whole machine (a file lock), because a killed daemon
disturbs every other lab test running at that moment, and whatever a test broke is put
back when it ends: stopped daemons continued, killed ones started again and answering.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = "/run/lock/tuivirt-lab-faults.lock"
DAEMONS = ("libvirtd", "dockerd")
HOSTS = ("local", "hostb")
# The lab's registry (tests/lab/up): plain http, so each dockerd is told to trust it.
LAB_REGISTRY = "10.77.0.2:5000"


class Faults:
    """Kill, stop and restart one lab daemon: ("local" | "hostb", "libvirtd" | "dockerd")."""

    def __init__(self, lab_dir: Path, holder: str) -> None:
        self.dir = lab_dir
        self.holder = holder
        self._stopped: set[tuple[str, str]] = set()
        self._killed: set[tuple[str, str]] = set()

    # -- where each daemon is ------------------------------------------------------------
    def _ns(self) -> list[str]:
        return ["nsenter", "-t", self.holder, "-m", "-n"]

    def pid(self, host: str, daemon: str) -> int | None:
        if host == "hostb" and daemon == "libvirtd":
            proc = subprocess.run([*self._ns(), "cat", "/run/libvirtd.pid"],
                                  capture_output=True, text=True, check=False)
            text = proc.stdout.strip()
        else:
            pidfile = {("local", "libvirtd"): self.dir / "run" / "libvirtd-a.pid",
                       ("local", "dockerd"): self.dir / "run" / "dockerd-a.pid",
                       ("hostb", "dockerd"): self.dir / "hostb" / "run" / "dockerd.pid",
                       }[(host, daemon)]
            text = pidfile.read_text().strip() if pidfile.exists() else ""
        if not text:
            return None
        pid = int(text)
        try:
            # A pid file outlives its daemon (SIGKILL), and pids wrap: a busy run gave
            # the old number to another process. The daemon is only the daemon by name.
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() != daemon:
                    return None
            with open(f"/proc/{pid}/stat") as stat:
                # A daemon this process started and killed stays a zombie until reaped.
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return None
        except OSError:
            return None
        return pid

    def answers(self, host: str, daemon: str, timeout: float = 5) -> bool:
        if daemon == "libvirtd":
            prefix = self._ns() if host == "hostb" else []
            cmd = [*prefix, "virsh", "-q", "-c", "qemu:///system", "version"]
        else:
            sock = (f"unix://{self.dir}/hostb/docker.sock" if host == "hostb"
                    else "unix:///var/run/docker.sock")
            cmd = ["docker", "-H", sock, "version"]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=timeout,
                                  check=False).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    # -- faults --------------------------------------------------------------------------
    def stop(self, host: str, daemon: str) -> None:
        """Hang the daemon (SIGSTOP): connections stay open, nothing answers."""
        pid = self.pid(host, daemon)
        assert pid is not None, f"{daemon} on {host} is not running"
        os.kill(pid, signal.SIGSTOP)
        self._stopped.add((host, daemon))

    def cont(self, host: str, daemon: str) -> None:
        pid = self.pid(host, daemon)
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
        self._stopped.discard((host, daemon))

    def kill(self, host: str, daemon: str) -> None:
        """Kill the daemon (SIGKILL): its sockets close, its guests keep running."""
        pid = self.pid(host, daemon)
        assert pid is not None, f"{daemon} on {host} is not running"
        self._killed.add((host, daemon))
        # dockerd's own containerd outlives it and then holds the next dockerd for 60 s
        # ("timeout waiting for containerd to start"): the daemon goes down with it.
        children = subprocess.run(["pgrep", "-P", str(pid), "containerd"],
                                  capture_output=True, text=True, check=False).stdout.split()
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGKILL)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)
        for _ in range(100):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # ours (started by start()): reap it
            if self.pid(host, daemon) is None:
                break
            time.sleep(0.05)

    def start(self, host: str, daemon: str) -> None:
        """Start a killed daemon again, as tests/lab/up does, and wait until it answers."""
        if self.pid(host, daemon) is None:
            if (host, daemon) == ("local", "libvirtd"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink("/run/libvirt/libvirt-sock")
                pidfile = self.dir / "run" / "libvirtd-a.pid"
                subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                "umount /sys/fs/cgroup/unified 2>/dev/null || true; "
                                f"exec libvirtd -d -p {pidfile}"], check=True)
            elif (host, daemon) == ("hostb", "libvirtd"):
                subprocess.run([*self._ns(), "sh", "-c",
                                "rm -f /run/libvirt/libvirt-sock; libvirtd -d"], check=True)
            elif (host, daemon) == ("local", "dockerd"):
                # dockerd refuses to start while its old pid file names a process that
                # still exists, and a killed one can linger as a zombie nobody reaps.
                # Same for its containerd's pid file (a killed containerd lingers too).
                for stale in ("/var/run/docker.sock", self.dir / "run" / "dockerd-a.pid",
                              "/var/run/docker/containerd/containerd.pid"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(stale)
                log = open(self.dir / "run" / "dockerd-a.log", "ab")  # noqa: SIM115
                subprocess.Popen(["dockerd", "--pidfile", str(self.dir / "run" / "dockerd-a.pid"),
                                  "-H", "unix:///var/run/docker.sock",
                                  "--insecure-registry", LAB_REGISTRY], stdout=log,
                                 stderr=log, start_new_session=True)
            else:
                hb = self.dir / "hostb"
                for stale in (hb / "docker.sock", hb / "run" / "dockerd.pid",
                              hb / "docker-exec" / "containerd" / "containerd.pid"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(stale)
                log = open(hb / "run" / "dockerd.log", "ab")  # noqa: SIM115
                # In hostb's network namespace (see tests/lab/up: with --bridge=none it
                # would delete host A's docker0 in the root one).
                subprocess.Popen(["nsenter", "--net=/run/netns/hostb",
                                  "dockerd", "--data-root", str(hb / "docker-data"),
                                  "--exec-root", str(hb / "docker-exec"),
                                  "--pidfile", str(hb / "run" / "dockerd.pid"),
                                  "-H", f"unix://{hb}/docker.sock", "--bridge=none",
                                  "--iptables=false", "--insecure-registry", LAB_REGISTRY],
                                 stdout=log, stderr=log,
                                 start_new_session=True)
        deadline = time.monotonic() + 60
        while not self.answers(host, daemon):
            assert time.monotonic() < deadline, f"{daemon} on {host} did not come back"
            time.sleep(0.2)
        self._killed.discard((host, daemon))
        if (host, daemon) == ("hostb", "dockerd"):
            self._rebind_hostb_docker()
        if daemon == "dockerd":
            # The lab's always-running containers (a killed dockerd takes them down).
            name = "boxb" if host == "hostb" else "tinybox"
            sock = (f"unix://{self.dir}/hostb/docker.sock" if host == "hostb"
                    else "unix:///var/run/docker.sock")
            subprocess.run(["docker", "-H", sock, "start", name], capture_output=True,
                           check=False, timeout=60)

    def restore(self) -> None:
        for host, daemon in list(self._stopped):
            self.cont(host, daemon)
        for host, daemon in list(self._killed):
            self.start(host, daemon)

    def _rebind_hostb_docker(self) -> None:
        # hostb sees the socket through a bind mount of the file: a new dockerd makes a
        # new socket file, so bind it again.
        sock = self.dir / "hostb" / "docker.sock"
        if sock.exists():
            subprocess.run([*self._ns(), "sh", "-c",
                            f"umount /run/docker.sock 2>/dev/null; touch /run/docker.sock; "
                            f"mount --bind {sock} /run/docker.sock"],
                           capture_output=True, check=False)


@contextlib.contextmanager
def exclusive_faults(lab_dir: Path, holder: str) -> Iterator[Faults]:
    """Faults for one test, alone on this machine; everything put back afterwards."""
    Path(LOCK_FILE).parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        faults = Faults(lab_dir, holder)
        # A run killed in the middle (a timeout's SIGTERM skips teardown) may have left a
        # daemon stopped: continue them all before this test starts...
        for host in HOSTS:
            for daemon in DAEMONS:
                pid = faults.pid(host, daemon)
                if pid is not None:
                    os.kill(pid, signal.SIGCONT)
                else:  # ...or killed one and never started it again
                    faults.start(host, daemon)
        try:
            yield faults
        finally:
            faults.restore()
