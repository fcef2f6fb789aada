"""`make bench`: every benchmark, one after another, in this process's interpreter.

Each bench module exposes ``main() -> None`` and prints its own figures and
ratios against the anchor measured in the same run.
"""

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = sorted(p.stem for p in HERE.glob("bench_*.py"))

if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    wanted = sys.argv[1:] or BENCHES
    for name in wanted:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(name).main()
