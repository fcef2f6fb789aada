"""`make bench`: every benchmark, one after another, each in a fresh interpreter.

Each bench module exposes ``main() -> None`` and prints its own figures and
ratios against the anchor measured in the same run. A fresh interpreter per
benchmark keeps one benchmark's leftovers (a heap grown by a local cloud, its
imports, any thread still winding down) out of the next one's timings: run in
one process after the local-cloud benchmarks, the runtime's ratios were up to
twice their standalone values.

    python tests/benchmarks/run.py                  # all of them
    python tests/benchmarks/run.py bench_runtime    # one, in this process
"""

import importlib
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = sorted(p.stem for p in HERE.glob("bench_*.py"))

if __name__ == "__main__":
    wanted = sys.argv[1:] or BENCHES
    unknown = sorted(set(wanted) - set(BENCHES))
    if unknown:
        sys.exit(f"run.py: no benchmark {', '.join(unknown)} (have: {', '.join(BENCHES)})")
    if len(wanted) == 1:
        sys.path.insert(0, str(HERE))
        print(f"\n=== {wanted[0]} ===", flush=True)
        importlib.import_module(wanted[0]).main()
    else:
        failed = [
            name
            for name in wanted
            if subprocess.run([sys.executable, __file__, name], check=False).returncode != 0
        ]
        if failed:
            sys.exit(f"run.py: failed: {', '.join(failed)}")
