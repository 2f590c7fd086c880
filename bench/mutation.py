"""Mutation testing of app/domain against tests/unit, by hand (docs/developing.md "Mutation testing").

    .venv/bin/pip install -q -e '.[test,mutation]' && .venv/bin/python bench/mutation.py

Runs `mutmut run` from scratch (configuration: `[mutmut]` in setup.cfg; work files under `mutants/`,
removed first: mutmut's cache of which tests cover what misses newly added tests), then prints the
score per module and the surviving mutants. Score = killed / (all mutants − equivalent ones listed in
tests/unit/MUTANTS.md). `--table-only` skips the run and reads the last results; `--min 90`
exits 1 when a module scores below 90 %.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = ROOT / "mutants" / "app" / "domain"
EQUIVALENTS = ROOT / "tests" / "unit" / "MUTANTS.md"
KILLED = {1, 3, 37}  # test failure, pytest internal error (mutant broke import), type check
STATUS = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout", None: "not checked"}


def run_mutmut() -> None:
    mutmut = Path(sys.executable).with_name("mutmut")
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    log = ROOT / "mutants" / "mutmut-run.log"
    log.parent.mkdir()
    with log.open("w") as out:
        code = subprocess.call([str(mutmut), "run"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        sys.exit(f"mutmut run failed ({code}); see {log}")


def equivalent_mutants() -> set[str]:
    """Names in backticks at the start of the list items of MUTANTS.md."""
    if not EQUIVALENTS.exists():
        return set()
    return set(re.findall(r"^- `([^`]+)`", EQUIVALENTS.read_text(), re.MULTILINE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table-only", action="store_true", help="do not run mutmut; read the last results")
    parser.add_argument(
        "--min", type=float, default=None, help="exit 1 if a module scores below this percent"
    )
    args = parser.parse_args()
    if not args.table_only:
        run_mutmut()
    equivalent = equivalent_mutants()
    rows, survivors, seen_equivalent = [], [], set()
    for meta in sorted(DOMAIN.glob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        counts = Counter("killed" if c in KILLED else STATUS.get(c, f"exit {c}") for c in codes.values())
        eq = {name for name in codes if name in equivalent and codes[name] not in KILLED}
        seen_equivalent |= eq
        survivors += [
            f"{name}: {STATUS.get(c, c)}"
            for name, c in sorted(codes.items())
            if c not in KILLED and name not in eq
        ]
        scored = len(codes) - len(eq)
        score = 100.0 * counts["killed"] / scored if scored else 100.0
        rows.append(
            (
                meta.name.removesuffix(".meta"),
                len(codes),
                counts["killed"],
                len(eq),
                len(codes) - counts["killed"] - len(eq),
                score,
            )
        )
    if not rows:
        sys.exit("no mutmut results under mutants/: run without --table-only first")
    total = [sum(r[i] for r in rows) for i in range(1, 5)]
    rows.append(("all", *total, 100.0 * total[1] / (total[0] - total[2])))
    print("| module | mutants | killed | equivalent | not killed | killed / all | score |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, killed, eq, left, score in rows:
        print(f"| {name} | {n} | {killed} | {eq} | {left} | {100.0 * killed / n:.1f} % | {score:.1f} % |")
    if survivors:
        print("\nNot killed and not listed as equivalent (`.venv/bin/mutmut show NAME`):")
        print("\n".join(f"  {s}" for s in survivors))
    stale = equivalent - seen_equivalent
    if stale:
        print("\nListed in MUTANTS.md but killed or gone (remove them):\n  " + "\n  ".join(sorted(stale)))
    if args.min is not None and any(r[5] < args.min for r in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
