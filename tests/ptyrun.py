"""A command on a pseudo-terminal, its output read as it is written (tests and benchmarks).

A pty rather than polling tmux: capture-pane spawns a process per poll, and on two cores
that polling itself slowed the app it measured. Subclasses decide what to keep of the
output (`received`, called under `cond` on the reader thread).
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


class PtyRun:
    def __init__(self, argv: list[str], *, cols: int = 120, rows: int = 40,
                 cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                                     start_new_session=True,
                                     env={**os.environ, "TERM": "xterm-256color",
                                          **(env or {})})
        os.close(slave)
        self.master = master
        self.pid = self.proc.pid
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self.cond:
                self.received(data)
                self.cond.notify_all()

    def received(self, data: bytes) -> None:
        """(The reader thread, `cond` held.) `data` was just written to the terminal."""

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def hang_up(self) -> None:
        """The user's terminal goes away (its window closed, the SSH link dropped)."""
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.hang_up()
