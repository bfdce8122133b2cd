"""Two checkouts' read paths measured in alternation: bench/read.py of each, in turns.

    .venv/bin/python bench/read_ab.py --old /path/to/old-checkout --old-data /tmp/rb-old \\
        --new . --new-data /tmp/rb-new --claims 10000 --rounds 3 --iterations 100

Each checkout runs its own bench/read.py with its own .venv, against a database its own
bench/generate.py made in its data folder, so each side is measured as it would be
deployed: this is the comparison for checkouts whose schemas differ (a migration
between them); bench/read_compare.py serves two checkouts of one schema from one
database, request by request. The sides take turns (old, new, old, new, ...), so the
machine's drift weighs on both alike; each round gives a new/old ratio per query, and
the table prints the median ratio with its lowest and highest. Below 1 means the new
checkout is faster. Writes bench/results/read_ab.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_read(checkout: Path, data_dir: Path, claims: int, iterations: int) -> dict[str, Any]:
    """One bench/read.py run of `checkout`; its figures for `claims`."""
    command = [str(checkout / ".venv/bin/python"), "bench/read.py", "--claims", str(claims)]
    command += ["--data-dir", str(data_dir), "--iterations", str(iterations)]
    subprocess.run(command, cwd=checkout, check=True, stdout=subprocess.DEVNULL)
    results = json.loads((checkout / "bench/results/read.json").read_text())
    return dict(results[str(claims)])


def figures(run: dict[str, Any]) -> dict[str, float]:
    """Each query's p50 (HTTP and SQL, ms) and the throughput (req/s) of one run."""
    out = {f"http {q}": v["p50_ms"] for q, v in run["http"].items()}
    out |= {f"sql {q}": v["p50_ms"] for q, v in run["sql"].items()}
    rate = run.get("throughput", {}).get("req_per_s")
    if rate:
        out["throughput req/s"] = rate
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--old-data", type=Path, required=True)
    parser.add_argument("--new", type=Path, default=ROOT)
    parser.add_argument("--new-data", type=Path, required=True)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    rounds: list[dict[str, dict[str, float]]] = []
    for number in range(1, args.rounds + 1):
        old = figures(run_read(args.old, args.old_data, args.claims, args.iterations))
        new = figures(run_read(args.new, args.new_data, args.claims, args.iterations))
        rounds.append({"old": old, "new": new})
        print(f"round {number} of {args.rounds} done", flush=True)
    table: dict[str, dict[str, float]] = {}
    print(f"\n{'figure':40} {'old':>9} {'new':>9}  new/old median [min, max]")
    for name in rounds[0]["old"]:
        pairs = [(r["old"][name], r["new"][name]) for r in rounds if name in r["new"]]
        if not pairs or any(old == 0 for old, _ in pairs):
            continue
        ratios = sorted(new / old for old, new in pairs)
        row = {
            "old_median": statistics.median(old for old, _ in pairs),
            "new_median": statistics.median(new for _, new in pairs),
            "ratio_median": round(statistics.median(ratios), 3),
            "ratio_min": round(ratios[0], 3),
            "ratio_max": round(ratios[-1], 3),
        }
        table[name] = row
        print(
            f"{name:40} {row['old_median']:9.3f} {row['new_median']:9.3f}  "
            f"{row['ratio_median']:.2f} [{row['ratio_min']:.2f}, {row['ratio_max']:.2f}]"
        )
    out = ROOT / "bench" / "results" / "read_ab.json"
    out.parent.mkdir(exist_ok=True)
    result = {"claims": args.claims, "rounds": rounds, "ratios": table}
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
