"""Run every benchmarks/bench_*.py in its own subprocess, in name order, and summarise.

A failing benchmark is reported and the others still run; the exit status is non-zero when
any failed. Arguments, if any, pick benchmarks whose file name contains one of them
(``run_all.py store`` runs bench_store.py); each benchmark takes its settings from its own
defaults and environment variables.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = [
        script for script in sorted(BENCH_DIR.glob("bench_*.py"))
        if not argv or any(name in script.name for name in argv)
    ]
    if not scripts:
        print(f"no benchmarks found in {BENCH_DIR}")
        return 1
    results: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"=== {script.name} ===", flush=True)
        started = time.perf_counter()
        try:
            code = subprocess.run([sys.executable, str(script)], cwd=BENCH_DIR.parent,
                                  check=False).returncode
        except OSError as exc:
            print(f"{script.name}: could not start: {exc}")
            code = 127
        elapsed = time.perf_counter() - started
        results.append((script.name, code, elapsed))
        print(flush=True)
    print("=== summary ===")
    for name, code, elapsed in results:
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"{name:<32} {status:<18} {elapsed:7.1f} s")
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        print(f"{len(failed)} of {len(results)} benchmarks failed: {', '.join(failed)}")
        return 1
    print(f"all {len(results)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
