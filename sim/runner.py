"""Running one scenario and writing what happened: the engine behind `guanxi run`.

Outputs in a directory (all deterministic for a scenario and seed, so two runs
with the same inputs are byte-identical):

* ``model.parquet``: model-level series per step (focal firm, guanxi graph);
* ``firms.parquet``: per firm per step (CRM capability, performance, books, ties);
* ``firm_market.parquet``: per firm, target market and step (attitude, funnel,
  engagement rate, conversions, revenue, costs, CAC, retention, share of voice);
* ``guanxi_edges.parquet``: the ties over time with strength and the benefit each
  side received; ``guanxi_events.parquet``: ties formed and severed, with reasons;
* ``summary.json``: the fully resolved scenario, the seed, the package version and
  the focal firm's outcomes (:func:`focal_summary`: people, shares of a market and
  money in the scenario's currency); with ``plot=True``, PNG charts of the main
  series.

Writing them is :mod:`sim.outputs`; the memory check before a model is built is
:func:`sim.resources.check_memory`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import version
from typing import Any

import pandas as pd

from sim.model import MarketModel
from sim.scenario import Scenario


def package_version() -> str:
    try:
        return version("guanxi-sim")
    except Exception:  # running from a source tree that is not installed
        return "0+unknown"


def run_model(
    spec: Scenario,
    steps: int | None = None,
    seed: int | None = None,
    on_step: Callable[[int], None] | None = None,
) -> MarketModel:
    """Build the model from ``spec`` and run it for ``steps`` days (default [model] steps)."""
    model = MarketModel(spec, rng=spec.model.seed if seed is None else seed)
    for day in range(steps if steps is not None else spec.model.steps):
        model.step()
        if on_step is not None:
            on_step(day + 1)
    return model


def run_with_progress(spec: Scenario, steps: int, seed: int, show: bool | None = None):
    """Run with a progress bar on long runs (when the terminal is interactive)."""
    if show is None:
        show = sys.stderr.isatty() and steps * spec.model.n_users * len(spec.firms) >= 2e7
    if not show:
        return run_model(spec, steps, seed)
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        # The description is the scenario's name: shown as it is, never read as markup.
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        TextColumn("day {task.completed:.0f}/{task.total:.0f}"),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(spec.model.name, total=steps)
        return run_model(spec, steps, seed, lambda _: progress.advance(task))


# ---------------------------------------------------------------------- frames
def model_frame(model: MarketModel) -> pd.DataFrame:
    frame = model.datacollector.get_model_vars_dataframe().reset_index(names="step")
    return frame


def firms_frame(model: MarketModel) -> pd.DataFrame:
    frame = model.datacollector.get_agent_vars_dataframe().reset_index()
    return frame.rename(columns={"Step": "step", "AgentID": "agent_id"})


def firm_market_frame(model: MarketModel) -> pd.DataFrame:
    return model.datacollector.get_table_dataframe("firm_market")


def edges_frame(model: MarketModel) -> pd.DataFrame:
    return model.datacollector.get_table_dataframe("guanxi_edges")


def events_frame(model: MarketModel) -> pd.DataFrame:
    columns = ["step", "firm_a", "firm_b", "event", "reason"]
    return pd.DataFrame([asdict(e) for e in model.guanxi.events], columns=columns)


#: focal_outcomes keys that count simulated users (they grow with ``n_users``): kept
#: for sweeps that record them by these names, never shown to a user as they are.
SIMULATED_COUNTS = ("followers", "customers", "conversions")


def focal_outcomes(model: MarketModel) -> dict[str, Any]:
    """The focal firm's outcomes at the end of a run: the numbers strategists compare.

    People are real people (``*_people``: simulated users times the market's
    ``people_per_user``) or shares of a market's population; money is in the
    scenario's currency (``currency``). ``followers``, ``customers`` and
    ``conversions`` (:data:`SIMULATED_COUNTS`) count simulated users (for checks
    against the model's own tables); sweeps record the people counts and
    :func:`focal_summary` leaves the simulated ones out.
    """
    firm = model.focal
    fm = firm_market_frame(model)
    mine = fm[fm.firm == firm.name]
    by_market = {}
    for market, rows in mine.groupby("market", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        people = float(last.people_per_user)
        by_market[market] = {
            "attitude": float(last.attitude_mean),
            "attitude_change": float(last.attitude_mean - first.attitude_mean),
            "awareness": float(last.awareness),
            "followers": int(last.followers),
            "customers": int(last.customers),
            "followers_people": float(last.followers_people),
            "customers_people": float(last.customers_people),
            "follower_share": float(last.follower_share),
            "customer_share": float(last.customer_share),
            "sales_share": float(last.sales_share),
            "engagement_rate": float(rows.engagement_rate.iloc[1:].mean())
            if len(rows) > 1
            else 0.0,
            "conversions": int(rows.conversions.sum()),
            "conversions_people": float(rows.conversions.sum() * people),
            "revenue": float(rows.revenue.sum()),
            "population": float(model.markets[model.market_index[market]].population),
        }
    return {
        "firm": firm.name,
        "currency": model.spec.model.currency,
        "attitude": firm.mean_attitude,
        "followers": firm.followers,
        "customers": firm.customers,
        "conversions": int(mine.conversions.sum()),
        "followers_people": sum(m["followers_people"] for m in by_market.values()),
        "customers_people": sum(m["customers_people"] for m in by_market.values()),
        "conversions_people": sum(m["conversions_people"] for m in by_market.values()),
        "revenue": firm.total_revenue,
        "profit": firm.total_profit,
        "crm_capability": firm.crm_capability,
        "performance": firm.performance,
        "ties": firm.ties,
        "markets": by_market,
    }


def focal_summary(model: MarketModel) -> dict[str, Any]:
    """:func:`focal_outcomes` as a user reads it (summary.json): people, shares and
    money in the currency, without the counts of simulated users."""
    outcome = focal_outcomes(model)
    for values in (outcome, *outcome["markets"].values()):
        for key in SIMULATED_COUNTS:
            values.pop(key, None)
        for key in ("followers_people", "customers_people", "conversions_people"):
            values[key] = round(values[key])  # whole people
    return outcome


def summary_columns(currency: str) -> list[tuple[str, str, str]]:
    """The run summary's columns: (row key, header with its unit, format)."""
    return [
        ("firm", "firm", "{}"),
        ("market", "market", "{}"),
        ("attitude", "attitude", "{:+.3f}"),
        ("attitude_change", "Δ attitude", "{:+.3f}"),
        ("followers", "followers (people)", "{:,}"),
        ("follower_share", "follower share", "{:.2%}"),
        ("engagement_rate", "engagement rate", "{:.2%}"),
        ("conversions", "purchases (people)", "{:,}"),
        ("revenue", f"revenue ({currency})", "{:,.0f}"),
        ("profit", f"profit, firm ({currency})", "{:,.0f}"),
        ("crm_capability", "CRM capability", "{:.3f}"),
        ("ties", "ties", "{}"),
    ]


def firm_summary_rows(model: MarketModel) -> list[dict[str, Any]]:
    """One row per firm and market, focal firm first, for the terminal summary.

    People, not simulated users: ``followers`` are the real people following the
    firm at the end, ``conversions`` the purchases real people made over the run
    (simulated purchases times the market's people per user); money is in the
    scenario's currency.
    """
    fm = firm_market_frame(model)
    first_step = fm[fm.step == fm.step.min()].set_index(["firm", "market"])
    last = fm[fm.step == fm.step.max()]
    totals = fm.groupby(["firm", "market"])[["conversions", "revenue"]].sum()
    engagement = fm[fm.step > 0].groupby(["firm", "market"])["engagement_rate"].mean()
    firms = sorted(model.firms, key=lambda f: (not f.is_focal, f.index))
    rows = []
    for firm in firms:
        for _, r in last[last.firm == firm.name].iterrows():
            key = (r.firm, r.market)
            rows.append(
                {
                    "firm": firm.name + (" (focal)" if firm.is_focal else ""),
                    "market": r.market,
                    "attitude": r.attitude_mean,
                    "attitude_change": r.attitude_mean - first_step.loc[key, "attitude_mean"],
                    "followers": round(r.followers_people),
                    "follower_share": float(r.follower_share),
                    "customers": round(r.customers_people),
                    "engagement_rate": float(engagement.get(key, 0.0)),
                    "conversions": round(totals.loc[key, "conversions"] * r.people_per_user),
                    "revenue": float(totals.loc[key, "revenue"]),
                    "profit": firm.total_profit,
                    "crm_capability": firm.crm_capability,
                    "ties": firm.ties,
                }
            )
    return rows
