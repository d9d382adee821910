"""PNG charts of a run's main series (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.scenario import Scenario  # noqa: E402

FIRM_MARKET_CHARTS = {
    "attitude_mean": "Mean attitude toward the firm (aware users)",
    "followers": "Followers",
    "engagement_rate": "Engagement rate (engagements / follower / post)",
    "conversions": "Conversions per day",
}
FIRM_CHARTS = {
    "crm_capability": "Social CRM capability",
    "performance": "Marketing performance index",
    "total_profit": "Cumulative profit",
}


def plot_run(tables: dict[str, pd.DataFrame], spec: Scenario, out_dir: Path) -> list[Path]:
    """One PNG per main series; the focal firm is drawn thick."""
    written = []
    focal = spec.focal_firm
    fm = tables["firm_market.parquet"]
    for column, title in FIRM_MARKET_CHARTS.items():
        markets = list(dict.fromkeys(fm.market))
        fig, axes = plt.subplots(1, len(markets), figsize=(5 * len(markets), 3.6), squeeze=False)
        for ax, market in zip(axes[0], markets, strict=True):
            rows = fm[fm.market == market]
            for firm, series in rows.groupby("firm", sort=False):
                values = series[column]
                if column in ("engagement_rate", "conversions"):
                    values = values.rolling(7, min_periods=1).mean()
                ax.plot(series.step, values, label=firm, lw=2.5 if firm == focal else 1)
            ax.set_title(market)
            ax.set_xlabel("day")
        axes[0][0].legend(fontsize=7)
        fig.suptitle(title)
        written.append(_save(fig, out_dir / f"{column}.png"))
    firms = tables["firms.parquet"]
    for column, title in FIRM_CHARTS.items():
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for firm, series in firms.groupby("firm", sort=False):
            ax.plot(series.step, series[column], label=firm, lw=2.5 if firm == focal else 1)
        ax.set_title(title)
        ax.set_xlabel("day")
        ax.legend(fontsize=7)
        written.append(_save(fig, out_dir / f"{column}.png"))
    model = tables["model.parquet"]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(model.step, model.ties, label="ties")
    ax.plot(model.step, model.ties_formed.cumsum(), label="formed (cumulative)")
    ax.plot(model.step, model.ties_severed.cumsum(), label="severed (cumulative)")
    ax.set_title("Guanxi ties")
    ax.set_xlabel("day")
    ax.legend(fontsize=7)
    written.append(_save(fig, out_dir / "guanxi_ties.png"))
    return written


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    # A fixed creation date keeps the PNG bytes reproducible.
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return path
