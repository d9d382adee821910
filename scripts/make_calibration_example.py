"""Write the bundled example's observed file: synthetic, made by the model itself.

    .venv/bin/python scripts/make_calibration_example.py

One run of china_entry (1,000 users, seed 2025) at the "true" values below, weekly
for 12 weeks, both markets; a few cells are blanked as real exports have gaps. The
file says it is synthetic in its ``source`` column.
"""

from pathlib import Path

import numpy as np

from sim.inference.synthetic import synthetic_export
from sim.scenario import load_scenario

TRUTH = {
    "markets.china.organic_reach": 0.12,
    "markets.china.engagement_offset": -1.0,
    "firms.ours.strategies.china.paid_reach": 0.006,
}
OUT = (
    Path(__file__).resolve().parent.parent
    / "scenarios"
    / "calibration"
    / "china_entry_synthetic.csv"
)

base = load_scenario("china_entry", {"model.n_users": 1000})
frame = synthetic_export(
    base,
    TRUTH,
    "ours",
    days=84,
    seed=2025,
    metrics=("followers", "new_followers", "impressions", "engagements", "conversions"),
)
rng = np.random.default_rng(2025)
for column in ("new_followers", "engagements", "conversions"):
    frame.loc[rng.random(len(frame)) < 0.1, column] = np.nan  # gaps, as in real exports
frame["source"] = (
    "synthetic: guanxi-sim china_entry seed 2025, see scripts/make_calibration_example.py"
)
frame.to_csv(OUT, index=False)
print(f"wrote {OUT} ({len(frame)} rows); truth: {TRUTH}")
