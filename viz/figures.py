"""What each chart shows, independent of how it is drawn.

A :class:`Chart` is a title, a y label and one or more panels (one per market, say),
each with named series. :mod:`viz.echarts` turns it into an interactive ECharts
option for the page and :mod:`viz.png` into a PNG for download, so the two always
show the same numbers. The builders here read a run's :class:`~viz.history.RunHistory`
(live charts), the model (guanxi network, users) or a comparison's bands.

Counts of people are real people (a simulated user stands for the market's
``people_per_user``) or shares of a market, and money is in the scenario's
currency, so that what a chart says does not depend on how many users are simulated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.model import MarketModel
from viz.history import RunHistory
from viz.labels import market_name

FOCAL_COLOR = "#c2185b"
PALETTE = (
    "#1f77b4",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
    "#e377c2",
    "#393b79",
)
VARIANT_COLORS = {"A": "#1f77b4", "B": "#ff7f0e", "B - A": "#2ca02c"}
MAX_POINTS = 600  # per series on screen; longer runs are thinned evenly (PNG keeps all)
SMOOTHING_DAYS = 7


@dataclass(frozen=True)
class Series:
    """One line (or set of bars), with an optional confidence band."""

    name: str
    values: Sequence[float]
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None
    emphasis: bool = False  # the focal firm: drawn thick
    color: str | None = None


@dataclass(frozen=True)
class Panel:
    """One plot area: x values (days, or categories for bars) and its series."""

    title: str
    x: Sequence[float] | Sequence[str]
    series: tuple[Series, ...]
    zero_line: bool = False  # a dashed line at 0 (differences)


@dataclass(frozen=True)
class Chart:
    """A chart with one or more panels side by side."""

    key: str  # stable identifier, also the PNG file name
    title: str
    y_label: str
    panels: tuple[Panel, ...]
    x_label: str = "day"
    kind: Literal["line", "bar"] = "line"
    log_y: bool = False  # log scale on the value axis
    horizontal: bool = False  # bars: categories down the side, values across


def firm_color(history_or_names: RunHistory | Sequence[str], firm: str, focal: str) -> str:
    """A stable colour per firm; the focal firm always in the focal colour."""
    names = (
        history_or_names.firm_names
        if isinstance(history_or_names, RunHistory)
        else list(history_or_names)
    )
    if firm == focal:
        return FOCAL_COLOR
    others = [name for name in names if name != focal]
    return PALETTE[others.index(firm) % len(PALETTE)] if firm in others else PALETTE[0]


def firm_label(firm: str, focal: str) -> str:
    """Legend name of a firm; the focal firm is marked."""
    return f"{firm} (us)" if firm == focal else firm


def rolling_mean(values: np.ndarray, days: int = SMOOTHING_DAYS) -> np.ndarray:
    """Trailing mean over ``days`` (shorter at the start), for noisy daily flows."""
    if values.size == 0:
        return values
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, values.size + 1)
    start = np.maximum(0, index - days)
    return (cumulative[index] - cumulative[start]) / (index - start)


# --------------------------------------------------------------------------- live charts
FIRM_MARKET_CHARTS: dict[str, tuple[str, str, bool]] = {
    # column: (title, y label, smoothed)
    "attitude_mean": (
        "Attitude toward each firm, by market",
        "mean attitude of aware users (-1..1)",
        False,
    ),
    "awareness": ("Awareness", "share of the market aware of the firm", False),
    "followers": ("Followers", "people following the firm", False),
    "engagement_rate": (
        "Engagement rate",
        f"engagements / follower / post ({SMOOTHING_DAYS}-day mean)",
        True,
    ),
    "conversions": (
        "Conversions",
        f"purchases by people per day ({SMOOTHING_DAYS}-day mean)",
        True,
    ),
}
# Charts of counts read in real people: chart key -> firm_market column of simulated users.
PEOPLE_COLUMNS = {"followers": "followers", "conversions": "conversions"}
FIRM_CHARTS: dict[str, tuple[str, str]] = {
    "crm_capability": ("Social CRM capability", "capability (0..1)"),
    "performance": ("Marketing performance", "performance index (0..1)"),
}


def firm_market_chart(history: RunHistory, column: str) -> Chart:
    """One panel per market, a line per firm active there (the focal firm thick)."""
    title, y_label, smoothed = FIRM_MARKET_CHARTS[column]
    panels = []
    for market in history.market_names:
        series = []
        days: Sequence[float] = []
        for firm in history.firm_names:
            if market not in history.targets[firm]:
                continue
            if column in PEOPLE_COLUMNS:
                values = history.people(firm, market, PEOPLE_COLUMNS[column])
            else:
                values = history.series(firm, market, column)
            if smoothed:
                values = rolling_mean(values)
            days = history.days(firm, market)
            series.append(
                Series(
                    firm_label(firm, history.focal),
                    values,
                    emphasis=firm == history.focal,
                    color=firm_color(history, firm, history.focal),
                )
            )
        panels.append(Panel(market_name(market), days, tuple(series)))
    return Chart(column, title, y_label, tuple(panels))


def firm_chart(history: RunHistory, column: str) -> Chart:
    """One panel, a line per firm."""
    title, y_label = FIRM_CHARTS[column]
    return Chart(column, title, y_label, (_firm_panel(history, column, "all markets"),))


def revenue_profit_chart(history: RunHistory) -> Chart:
    """Cumulative revenue and cumulative profit per firm."""
    revenue = _firm_panel(history, "revenue", "cumulative revenue", cumulative=True)
    profit = _firm_panel(history, "total_profit", "cumulative profit")
    return Chart("revenue_profit", "Revenue and profit", history.currency, (revenue, profit))


def _firm_panel(history: RunHistory, column: str, title: str, cumulative: bool = False) -> Panel:
    series = []
    for firm in history.firm_names:
        values = history.firm_series(column, firm)
        if cumulative:
            values = np.cumsum(values)
        series.append(
            Series(
                firm_label(firm, history.focal),
                values,
                emphasis=firm == history.focal,
                color=firm_color(history, firm, history.focal),
            )
        )
    return Panel(title, np.asarray(history.firm_steps, dtype=float), tuple(series))


def live_charts(history: RunHistory) -> list[Chart]:
    """Every live chart of the Explore tab, in page order."""
    charts = [firm_market_chart(history, column) for column in FIRM_MARKET_CHARTS]
    charts.insert(3, revenue_profit_chart(history))
    charts.extend(firm_chart(history, column) for column in FIRM_CHARTS)
    return charts


LIVE_CHART_KEYS = (
    "attitude_mean",
    "awareness",
    "followers",
    "revenue_profit",
    "engagement_rate",
    "conversions",
    "crm_capability",
    "performance",
)


def live_chart(history: RunHistory, key: str) -> Chart:
    """One live chart by key (see LIVE_CHART_KEYS)."""
    if key in FIRM_MARKET_CHARTS:
        return firm_market_chart(history, key)
    if key in FIRM_CHARTS:
        return firm_chart(history, key)
    if key == "revenue_profit":
        return revenue_profit_chart(history)
    raise KeyError(key)


def guanxi_ties_chart(model: MarketModel) -> Chart:
    """Ties now, and ties formed and severed so far, per day (the model's reporters)."""
    records = model.datacollector.model_vars
    days = np.arange(len(records["ties"]), dtype=float)
    series = (
        Series(
            "ties now", np.asarray(records["ties"], dtype=float), color=FOCAL_COLOR, emphasis=True
        ),
        Series("formed so far", np.cumsum(records["ties_formed"], dtype=float), color=PALETTE[1]),
        Series("severed so far", np.cumsum(records["ties_severed"], dtype=float), color=PALETTE[2]),
    )
    return Chart("guanxi_ties", "Guanxi ties", "ties", (Panel("all firms", days, series),))


# --------------------------------------------------------------------------- users
DEPENDENCY_BINS = 20
FUNNEL_WINDOW_DAYS = 30
FUNNEL_STAGES = (
    ("aware", "aware (people now)"),
    ("following", "following (people now)"),
    ("consuming", f"consuming (people a day, {FUNNEL_WINDOW_DAYS}-day mean)"),
    ("engaging", f"engaging (people a day, {FUNNEL_WINDOW_DAYS}-day mean)"),
    ("buying", f"buying (people a day, {FUNNEL_WINDOW_DAYS}-day mean)"),
)


def dependency_chart(model: MarketModel) -> Chart:
    """Share of each market's users by SNS dependency (0..1), one bar set per market."""
    population = model.population
    edges = np.linspace(0.0, 1.0, DEPENDENCY_BINS + 1)
    centres = [f"{(lo + hi) / 2:.3f}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    series = []
    for m, market in enumerate(model.markets):
        values = population.sns_dependency[population.block(m)]
        counts, _ = np.histogram(values, bins=edges)
        share = counts / max(values.size, 1)
        series.append(Series(market.name, share, color=PALETTE[m % len(PALETTE)]))
    panel = Panel("all markets", centres, tuple(series))
    return Chart(
        "sns_dependency",
        "SNS dependency of users, by market",
        "share of the market's people",
        (panel,),
        x_label="SNS dependency (0..1)",
        kind="bar",
    )


def funnel_chart(history: RunHistory, populations: dict[str, float]) -> Chart:
    """Aware -> following -> consuming -> engaging -> buying for the focal firm, by market,
    in real people (``populations``: :func:`market_populations`)."""
    focal = history.focal
    series = []
    for m, market in enumerate(history.targets[focal]):
        values = funnel_values(history, market, populations[market])
        series.append(Series(market, values, color=PALETTE[m % len(PALETTE)]))
    panel = Panel("our business", [label for _, label in FUNNEL_STAGES], tuple(series))
    return Chart(
        "funnel",
        f"Funnel of {focal} (us)",
        "people (log scale)",
        (panel,),
        x_label="stage",
        kind="bar",
        log_y=True,
        horizontal=True,
    )


def funnel_values(history: RunHistory, market: str, population: float) -> list[float]:
    """The focal firm's funnel in one market in real people (see :data:`FUNNEL_STAGES`);
    ``population`` is the market's."""
    focal = history.focal
    window = FUNNEL_WINDOW_DAYS
    return [
        history.latest(focal, market, "awareness") * population,
        history.latest(focal, market, "followers_people"),
        history.recent_mean(focal, market, "consumers", window, people=True),
        history.recent_mean(focal, market, "engagers", window, people=True),
        # A user buys from a firm at most once a day: conversions are buyers.
        history.recent_mean(focal, market, "conversions", window, people=True),
    ]


def market_populations(model: MarketModel) -> dict[str, float]:
    """Real people per market (its population; a simulated user stands for
    ``population / users`` of them)."""
    return {market.name: float(market.population) for market in model.markets}


def people_counts(model: MarketModel, firm_index: int) -> tuple[float, float, float]:
    """A firm's followers and customers now, in real people, and its followers as a share
    of the people in its target markets."""
    people = model.people_per_user
    followers = float((model.followers_count[firm_index] * people).sum())
    customers = float((model.customers_count[firm_index] * people).sum())
    targets = model.strategy.active[firm_index]
    population = sum(
        m.population for m, active in zip(model.markets, targets, strict=True) if active
    )
    return followers, customers, followers / population if population else 0.0


# --------------------------------------------------------------------------- guanxi network
@dataclass(frozen=True)
class FirmNode:
    name: str
    performance: float
    crm_capability: float
    ties: int
    focal: bool
    color: str


@dataclass(frozen=True)
class Tie:
    """A guanxi tie now, and what it has brought each side so far (currency)."""

    firm_a: str
    firm_b: str
    strength: float
    age: int
    benefit_a: float  # received by firm_a
    benefit_b: float
    favours_a: float  # given by firm_a
    favours_b: float
    currency: str = ""  # the scenario's, named after the amounts

    def money(self, value: float) -> str:
        """An amount with the currency's name, e.g. '340 EUR'."""
        return f"{value:,.0f} {self.currency}".rstrip()

    def describe(self) -> list[str]:
        """Lines of the tie's tooltip."""
        return [
            f"{self.firm_a} \u2194 {self.firm_b}",
            f"strength {self.strength:.2f}, {self.age} days old",
            f"brought {self.firm_a}: {self.money(self.benefit_a)} "
            f"(gave {self.money(self.favours_a)})",
            f"brought {self.firm_b}: {self.money(self.benefit_b)} "
            f"(gave {self.money(self.favours_b)})",
        ]


@dataclass(frozen=True)
class NetworkView:
    """The guanxi network now: firms, ties and what has happened to ties so far."""

    day: int
    nodes: tuple[FirmNode, ...]
    ties: tuple[Tie, ...]
    formed: int
    severed: int
    recent_events: tuple[str, ...]

    def summary(self) -> str:
        """E.g. 'Day 8: 1 tie now between all firms; 1 formed and 0 severed so far'."""
        count = len(self.ties)
        return (
            f"Day {self.day}: {count} tie{'' if count == 1 else 's'} now between all firms; "
            f"{self.formed} formed and {self.severed} severed so far"
        )


def network_view(model: MarketModel, recent: int = 6) -> NetworkView:
    """Snapshot of the guanxi graph from the model (current ties and their ledgers)."""
    firms = sorted(model.firms, key=lambda firm: firm.index)
    names = [firm.name for firm in firms]
    focal = model.focal.name
    nodes = tuple(
        FirmNode(
            name=firm.name,
            performance=float(firm.performance),
            crm_capability=float(firm.crm_capability),
            ties=int(firm.ties),
            focal=firm.is_focal,
            color=firm_color(names, firm.name, focal),
        )
        for firm in firms
    )
    ties = tuple(
        Tie(
            firm_a=row["firm_a"],
            firm_b=row["firm_b"],
            strength=float(row["strength"]),
            age=int(row["age"]),
            benefit_a=float(row["benefit_a"]),
            benefit_b=float(row["benefit_b"]),
            favours_a=float(row["favours_a"]),
            favours_b=float(row["favours_b"]),
            currency=model.spec.model.currency,
        )
        for row in model.guanxi.edge_rows()
    )
    events = model.guanxi.events
    formed = sum(event.event == "formed" for event in events)
    lines = []
    for event in events[-recent:][::-1]:
        reason = f" ({event.reason})" if event.reason else ""
        lines.append(
            f"day {event.step}: {event.firm_a} \u2194 {event.firm_b} {event.event}{reason}"
        )
    return NetworkView(
        day=model.steps,
        nodes=nodes,
        ties=ties,
        formed=formed,
        severed=len(events) - formed,
        recent_events=tuple(lines),
    )


# --------------------------------------------------------------------------- comparison
def band_chart(
    key: str,
    title: str,
    days: Sequence[float],
    bands: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> Chart:
    """A comparison outcome: A and B with 95% CI bands, and B - A with its band.

    ``bands`` maps "A", "B" and "B - A" to (mean, low, high) arrays over ``days``.
    """
    both = tuple(
        Series(variant, *bands[variant], color=VARIANT_COLORS[variant]) for variant in ("A", "B")
    )
    difference = (Series("B - A", *bands["B - A"], color=VARIANT_COLORS["B - A"]),)
    return Chart(
        key,
        title,
        "mean with 95% CI over replications",
        (Panel("A and B", days, both), Panel("B - A (paired)", days, difference, zero_line=True)),
    )


# One line under each comparison chart: what it means for the decision.
_COMPARE_MEANING = (
    "Left: A and B over time with their 95% ranges; right: B minus A. Where the "
    "right-hand band stays {side} the dashed 0 line, B {verb}."
)
COMPARE_MEANINGS: dict[str, str] = {
    "attitude": _COMPARE_MEANING.format(
        side="above", verb="leaves people who know us thinking better of us than A"
    ),
    "followers_people": _COMPARE_MEANING.format(side="above", verb="wins more followers than A"),
    "customers_people": _COMPARE_MEANING.format(
        side="above", verb="has more people who have bought from us than A"
    ),
    "conversions_people": _COMPARE_MEANING.format(side="above", verb="sells more often than A"),
    "revenue": _COMPARE_MEANING.format(side="above", verb="brings in more money than A"),
    "profit": _COMPARE_MEANING.format(
        side="above", verb="earns more after marketing and product costs than A"
    ),
    "crm_capability": _COMPARE_MEANING.format(
        side="above", verb="builds our social CRM capability faster than A"
    ),
    "performance": _COMPARE_MEANING.format(
        side="above", verb="lifts our overall marketing performance above A's"
    ),
    "ties": _COMPARE_MEANING.format(side="above", verb="keeps more guanxi ties than A"),
}
# One line under each live chart.
LIVE_MEANINGS: dict[str, str] = {
    "attitude_mean": "How people who know each firm feel about it (-1 hostile, +1 enthusiastic); "
    "our business is the thick line.",
    "awareness": "The share of each market's people who know the firm exists.",
    "followers": "How many real people follow each firm on social media.",
    "engagement_rate": "How often followers like, comment or share a post: a sign of "
    "content that fits.",
    "revenue_profit": "Money each firm has made so far; profit is after product, content, "
    "ads and reply costs.",
    "conversions": "Purchases a day by real people, smoothed over a week.",
    "crm_capability": "How well each firm turns social media conversations into customer "
    "knowledge (0 none, 1 best practice).",
    "performance": "An index of each firm's overall social media marketing success (0 to 1).",
    "guanxi_ties": "Guanxi ties of all firms (not only ours): now, formed and severed so far.",
    "sns_dependency": "How much each market's people rely on social media (share per band).",
    "funnel": "Our funnel in people: aware, following, reading, engaging, buying.",
}
