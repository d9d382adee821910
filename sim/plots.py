"""PNG charts of a run's main series (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim.scenario import Scenario  # noqa: E402

# file stem: (title, how to read it from the firm_market table, 7-day mean).
# People are real people (simulated users times the market's people per user) and
# money is in the scenario's currency, so the charts do not depend on n_users.
FIRM_MARKET_CHARTS = {
    "attitude_mean": ("Mean attitude toward the firm (aware users, -1..1)", "attitude_mean", False),
    "followers": ("Followers (people)", "followers_people", False),
    "follower_share": ("Follower share (share of the market's people)", "follower_share", False),
    "engagement_rate": (
        "Engagement rate (engagements / follower / post, 7-day mean)",
        "engagement_rate",
        True,
    ),
    "conversions": ("Conversions (purchases by people per day, 7-day mean)", "conversions", True),
}
# Firm series: file stem -> title; money titles name the currency.
FIRM_CHARTS = {
    "crm_capability": "Social CRM capability (0..1)",
    "performance": "Marketing performance index (0..1)",
    "total_profit": "Cumulative profit ({currency})",
}


def firm_market_values(rows: pd.DataFrame, key: str) -> pd.Series:
    """The plotted series of one firm in one market (see :data:`FIRM_MARKET_CHARTS`)."""
    _, column, smoothed = FIRM_MARKET_CHARTS[key]
    values = rows[column]
    if column == "conversions":  # purchases by simulated users -> by real people
        values = values * rows["people_per_user"]
    if smoothed:
        values = values.rolling(7, min_periods=1).mean()
    return values


def plot_run(tables: dict[str, pd.DataFrame], spec: Scenario, out_dir: Path) -> list[Path]:
    """One PNG per main series; the focal firm is drawn thick."""
    written = []
    focal = spec.focal_firm
    currency = spec.model.currency
    fm = tables["firm_market.parquet"]
    for key, (title, _, _) in FIRM_MARKET_CHARTS.items():
        markets = list(dict.fromkeys(fm.market))
        fig, axes = plt.subplots(1, len(markets), figsize=(5 * len(markets), 3.6), squeeze=False)
        for ax, market in zip(axes[0], markets, strict=True):
            rows = fm[fm.market == market]
            for firm, series in rows.groupby("firm", sort=False):
                values = firm_market_values(series, key)
                ax.plot(series.step, values, label=firm, lw=2.5 if firm == focal else 1)
            ax.set_title(market)
            ax.set_xlabel("day")
        axes[0][0].legend(fontsize=7)
        fig.suptitle(title)
        written.append(_save(fig, out_dir / f"{key}.png"))
    firms = tables["firms.parquet"]
    for column, title in FIRM_CHARTS.items():
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for firm, series in firms.groupby("firm", sort=False):
            ax.plot(series.step, series[column], label=firm, lw=2.5 if firm == focal else 1)
        ax.set_title(title.format(currency=currency))
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
