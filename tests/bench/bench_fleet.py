"""Benchmark: `tuivirt list --json` over 10, 30 and 100 SSH hosts (all hostb's one stock
sshd, each its own connection), against `virsh -c qemu+ssh://... list` on one host.

Reported per fleet size: wall time, peak RSS and peak thread count of the tuivirt
process, and the wall time as a multiple of one virsh call. Needs the lab (tests/lab/up).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.common import compile_tree
from tests.conftest import LAB_DIR, Lab, _lab_env

ROOT = Path(__file__).resolve().parents[2]
SIZES = (10, 30, 100)
RUNS = 3


def fleet_config(lab: Lab, count: int) -> str:
    hosts = [f"""[[host]]
name = "h{i:03d}"
ssh = "root@{lab.hostb_addr}"
ssh_identity = "{lab.client_key}"
ssh_known_hosts = "{lab.known_hosts}"
libvirt = ["qemu:///system"]
docker = "unix:///run/docker.sock"
""" for i in range(count)]
    return "\n".join(hosts)


def measure(cmd: list[str]) -> tuple[float, float, int, int]:
    """(wall s, peak RSS MiB, peak threads, exit code), sampling /proc every 10 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    rss = threads = 0
    while proc.poll() is None:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                rss = max(rss, int(line.split()[1]))
            elif line.startswith("Threads:"):
                threads = max(threads, int(line.split()[1]))
        time.sleep(0.01)
    proc.wait()
    return time.perf_counter() - start, rss / 1024, threads, proc.returncode


def main() -> int:
    facts = _lab_env()
    if not facts:
        print(f"bench_fleet: the lab is not up ({LAB_DIR}); skipped")
        return 0
    lab = Lab(facts)
    compile_tree(ROOT)
    # virsh over its own ssh (no_verify: a benchmark, not a trust decision)
    uri = (f"qemu+ssh://root@{lab.hostb_addr}/system?keyfile={lab.client_key}"
           "&no_verify=1")
    virsh = [measure(["virsh", "-c", uri, "list", "--all"])[0] for _ in range(RUNS)]
    one = statistics.median(virsh)
    print(f"\n== tuivirt list --json over N ssh hosts (median of {RUNS}); "
          f"virsh list on one host: {one:.3f} s")
    print(f"   {'hosts':>5} {'wall s':>8} {'x virsh':>8} {'RSS MiB':>8} {'threads':>8} "
          f"{'MiB/host':>9}  failures")
    base_rss = None
    with tempfile.TemporaryDirectory() as tmp:
        for count in SIZES:
            config = Path(tmp) / f"fleet{count}.toml"
            config.write_text(fleet_config(lab, count))
            cmd = [sys.executable, "-m", "tuivirt", "--config", str(config), "list",
                   "--json"]
            samples = [measure(cmd) for _ in range(RUNS)]
            wall = statistics.median(s[0] for s in samples)
            rss = statistics.median(s[1] for s in samples)
            threads = max(s[2] for s in samples)
            failed = sum(1 for s in samples if s[3] != 0)
            base_rss = base_rss if base_rss is not None else (rss, count)
            per_host = ((rss - base_rss[0]) / (count - base_rss[1])
                        if count != base_rss[1] else float("nan"))
            print(f"   {count:>5} {wall:8.2f} {wall / one:8.1f} {rss:8.1f} {threads:>8} "
                  f"{per_host:9.2f}  {failed}/{RUNS} runs exit non-zero")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
