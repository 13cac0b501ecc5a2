"""Benchmark: `tuivirt list --json` vs `virsh list --all` on a 1000-domain test node.

Target (issue 2): tuivirt within 1.5x of virsh, measured side by side in one run.
Run: python tests/bench/bench_list.py [--domains N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench.common import (
    compile_tree,
    make_test_node,
    report,
    side_by_side,
    time_command,
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--domains", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    compile_tree(Path(__file__).resolve().parents[2])
    with tempfile.TemporaryDirectory() as tmp:
        node = make_test_node(Path(tmp) / "node.xml", args.domains)
        uri = f"test://{node}"
        config = Path(tmp) / "bench.toml"
        config.write_text(f'[[host]]\nname = "bench"\nlibvirt = ["{uri}"]\n')
        tuivirt = [sys.executable, "-m", "tuivirt", "--config", str(config), "list", "--json"]
        virsh = ["virsh", "-c", uri, "list", "--all"]
        # Sanity: both see every domain.
        rows = json.loads(subprocess.run(tuivirt, capture_output=True, text=True,
                                         check=True).stdout)
        assert len(rows) == args.domains, len(rows)
        samples = side_by_side(args.runs, **{
            "virsh list --all": lambda: time_command(virsh),
            "tuivirt list --json": lambda: time_command(tuivirt),
        })
    report(f"list {args.domains} test-driver domains (wall time per command)", samples)
    ours, theirs = samples["tuivirt list --json"], samples["virsh list --all"]
    ratio = statistics.median(ours) / statistics.median(theirs)
    best = min(ours) / min(theirs)
    verdict = "ok" if ratio <= 1.5 else "OVER TARGET"
    print(f"   tuivirt / virsh: median {ratio:.2f}x, best-of-{args.runs} {best:.2f}x "
          f"(target <= 1.5x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
