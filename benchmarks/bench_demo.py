"""Benchmark: `cityradar demo` steps (generate, tag, store, detect) on the SYNTHETIC corpus.

Prints the wall time of each step, the tagging rate and the peak RSS (this process and the
tagging workers). Usage: python benchmarks/bench_demo.py [--scale 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from cityradar.commands.demo import build_demo, open_fresh_store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_fresh_store(f"sqlite:///{Path(tmp) / 'bench-demo.db'}")
        started = time.perf_counter()
        try:
            run = build_demo(store, REPO_ROOT / "config", seed=args.seed, scale=args.scale,
                             workers=args.workers)
        finally:
            store.close()
        total = time.perf_counter() - started
    own_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"demo corpus: scale 1:{args.scale}, {run.articles} articles, "
          f"{run.stored} stored, {len(run.alerts)} alert episodes")
    for step in ("generate", "tag", "store", "detect"):
        print(f"  {step:<8} {run.seconds[step]:7.2f} s")
    print(f"  total    {total:7.2f} s  (target: well under 60 s on 2 cores)")
    print(f"  tagging  {run.articles / max(run.seconds['tag'], 1e-9):7.0f} articles/s")
    print(f"  store    {run.stored / max(run.seconds['store'], 1e-9):7.0f} articles/s")
    print(f"peak RSS: main {own_mib:.0f} MiB, largest worker {workers_mib:.0f} MiB")


if __name__ == "__main__":
    main()
