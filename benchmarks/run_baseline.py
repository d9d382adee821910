"""Issue 2 speed target: the baseline scenario scaled to 100,000 users and 20 firms,
365 steps on one core, with peak memory. Prints its figures.

    .venv/bin/python benchmarks/run_baseline.py [--users 100000] [--firms 20] [--steps 365]
"""

from __future__ import annotations

import os

# One core: keep BLAS and friends to a single thread before numpy loads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.model import MarketModel  # noqa: E402
from sim.scenario import load_scenario, scenario_from_data  # noqa: E402


def scaled_baseline(users: int, firms: int):
    """The baseline scenario with ``users`` users and its firms cloned up to ``firms``."""
    base = load_scenario("baseline").model_dump(mode="json")
    templates = base["firms"]
    clones = []
    for i in range(firms):
        firm = dict(templates[i % len(templates)])
        if i >= len(templates):
            firm["name"] = f"{firm['name']}_{i}"
        clones.append(firm)
    base["firms"] = clones
    base["model"]["n_users"] = users
    return scenario_from_data(base, "benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--firms", type=int, default=20)
    parser.add_argument("--steps", type=int, default=365)
    args = parser.parse_args()
    spec = scaled_baseline(args.users, args.firms)
    start = time.perf_counter()
    model = MarketModel(spec)
    built = time.perf_counter()
    for _ in range(args.steps):
        model.step()
    done = time.perf_counter()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"users={args.users} firms={args.firms} steps={args.steps}")
    print(f"build_s={built - start:.2f} run_s={done - built:.2f} total_s={done - start:.2f}")
    print(f"per_step_ms={(done - built) / args.steps * 1000:.1f} peak_rss_mib={peak_mib:.0f}")
    print(
        f"target: total < 60 s -> {'MET' if done - start < 60 else 'NOT MET'}; "
        f"peak < 2048 MiB -> {'MET' if peak_mib < 2048 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
