"""What the model records each day, in Mesa's DataCollector (its public API, but for
the firm series, which it builds from the model's arrays: :func:`firm_records`):

* model series (:data:`MODEL_REPORTERS`): the focal firm's outcomes and the guanxi
  network's measures;
* firm series (:data:`FIRM_ATTRIBUTES`): one record per firm;
* ``firm_market``: per firm and target market, the stocks, the day's flows and the
  marketing KPIs (:func:`firm_market_columns`);
* ``guanxi_edges``: the ties, every ``edge_snapshot_interval`` days.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.model.ledger import FLOWS

if TYPE_CHECKING:
    from sim.model.model import MarketModel


# Module-level functions so that models pickle and run in worker processes.
def focal_attitude(model: MarketModel) -> float:
    return model.focal.mean_attitude


def focal_followers(model: MarketModel) -> int:
    return model.focal.followers


def focal_customers(model: MarketModel) -> int:
    return model.focal.customers


def focal_crm_capability(model: MarketModel) -> float:
    return model.focal.crm_capability


def focal_profit(model: MarketModel) -> float:
    return model.focal.profit


def focal_revenue(model: MarketModel) -> float:
    return model.focal.revenue


def focal_performance(model: MarketModel) -> float:
    return model.focal.performance


def tie_count(model: MarketModel) -> int:
    return model.guanxi.tie_count()


def ties_formed(model: MarketModel) -> int:
    return model.guanxi.formed_today


def ties_severed(model: MarketModel) -> int:
    return model.guanxi.severed_today


def tie_density(model: MarketModel) -> float:
    return model.guanxi.density()


def tie_clustering(model: MarketModel) -> float:
    return model.guanxi.clustering()


def mean_tie_strength(model: MarketModel) -> float:
    return model.guanxi.mean_strength()


MODEL_REPORTERS = {
    "focal_attitude": focal_attitude,
    "focal_followers": focal_followers,
    "focal_customers": focal_customers,
    "focal_crm_capability": focal_crm_capability,
    "focal_revenue": focal_revenue,
    "focal_profit": focal_profit,
    "focal_performance": focal_performance,
    "ties": tie_count,
    "ties_formed": ties_formed,
    "ties_severed": ties_severed,
    "tie_density": tie_density,
    "tie_clustering": tie_clustering,
    "mean_tie_strength": mean_tie_strength,
}

# The firm series: column -> Firm attribute (a number or a name).
FIRM_ATTRIBUTES = {
    "firm": "name",
    "focal": "is_focal",
    "crm_capability": "crm_capability",
    "performance": "performance",
    "mean_attitude": "mean_attitude",
    "aware": "aware",
    "followers": "followers",
    "customers": "customers",
    "revenue": "revenue",
    "costs": "costs",
    "profit": "profit",
    "total_profit": "total_profit",
    "ties": "ties",
    "guanxi_level": "guanxi_level",
    "reputation": "reputation",
    "centrality": "centrality",
    "strategy_revisions": "strategy_revisions",
}
# attrgetter rather than lambdas: they pickle.
FIRM_REPORTERS = {column: attrgetter(attribute) for column, attribute in FIRM_ATTRIBUTES.items()}

EDGE_COLUMNS = [
    "step",
    "firm_a",
    "firm_b",
    "strength",
    "trust",
    "age",
    "benefit_a",
    "benefit_b",
    "favours_a",
    "favours_b",
]

FIRM_MARKET_COLUMNS = [
    "step",
    "firm",
    "market",
    "focal",
    "attitude_mean",
    "attitude_sd",
    "awareness",
    "followers",
    "customers",
    "people_per_user",
    "followers_people",
    "customers_people",
    "follower_share",
    "customer_share",
    "sales_share",
    *FLOWS,
    "engagement_rate",
    "marketing_cost",
    "customer_acquisition_cost",
    "retention",
    "share_of_voice",
]


def firm_records(model: MarketModel) -> list[tuple]:
    """Today's firm series as Mesa's agent records, read from the model's arrays at once.

    The records :class:`mesa.DataCollector` builds with :data:`FIRM_REPORTERS`, one
    reporter call per firm and column: per agent of ``model.agents`` (their order)
    ``(time, unique_id, *values)``, the values those of :data:`FIRM_ATTRIBUTES` in
    its order (kept in step with it by hand), the same Python objects (each :class:`~sim.model.firms.Firm` view as its
    property gives it: the measures from ``model.metrics``, the guanxi from
    ``model.guanxi``). ``tests/test_model_speedups.py`` checks them against Mesa's.
    """
    metrics, guanxi = model.metrics, model.guanxi
    performance = metrics.performance.tolist()
    mean_attitude = metrics.mean_attitude.tolist()
    aware = metrics.aware.tolist()
    followers = metrics.followers.tolist()
    customers = metrics.customers.tolist()
    reputation = guanxi.reputations.tolist()
    centrality = guanxi.measures().centrality
    time = model.time
    records = []
    for firm in model.agents:
        f = firm.index
        records.append(
            (
                time,
                firm.unique_id,
                firm.name,
                firm.is_focal,
                firm.crm_capability,
                performance[f],
                mean_attitude[f],
                int(aware[f]),
                int(followers[f]),
                int(customers[f]),
                firm.revenue,
                firm.costs,
                firm.profit,
                firm.total_profit,
                guanxi.degree(f),
                guanxi.level(f),
                reputation[f],
                float(centrality.get(f, 0.0)),
                firm.strategy_revisions,
            )
        )
    return records


class MarketDataCollector(mesa.DataCollector):
    """Mesa's DataCollector, which can also take a day's rows of a table as columns,
    and records the firm series from the model's arrays (:func:`firm_records`)."""

    def _record_agents(self, model):
        """Mesa's agent records; with the firm reporters (:data:`FIRM_REPORTERS`), the
        same records built by :func:`firm_records` (20 firms x 17 reporter calls a day
        in Mesa's loop cost more than the rest of the day's reporting)."""
        if self.agent_reporters == FIRM_REPORTERS and hasattr(model, "metrics"):
            return firm_records(model)
        return super()._record_agents(model)

    def add_table_columns(self, table_name: str, columns: dict[str, list[Any]]) -> None:
        """Append rows given as equal-length columns: the same table as one
        :meth:`add_table_row` per row, without building a dict per row."""
        table = self.tables[table_name]
        if columns.keys() != table.keys():
            raise ValueError(f"table {table_name!r} has columns {list(table)}, not {list(columns)}")
        if len({len(values) for values in columns.values()}) > 1:
            raise ValueError(f"table {table_name!r}: columns of different lengths")
        for name, values in columns.items():
            table[name].extend(values)


def build_datacollector() -> MarketDataCollector:
    """Mesa's DataCollector with the model and firm reporters and the two tables."""
    return MarketDataCollector(
        model_reporters=MODEL_REPORTERS,
        agent_reporters=FIRM_REPORTERS,
        tables={"firm_market": FIRM_MARKET_COLUMNS, "guanxi_edges": EDGE_COLUMNS},
    )


def collect(model: MarketModel) -> None:
    """Record today's model and firm series, firm-market outcomes and (on snapshot
    days) the guanxi ties, through the DataCollector's API."""
    datacollector = model.datacollector
    datacollector.collect(model)
    datacollector.add_table_columns("firm_market", firm_market_columns(model))
    if model.steps % model.spec.model.edge_snapshot_interval == 0:
        rows = model.guanxi.edge_rows()
        if rows:
            datacollector.add_table_columns(
                "guanxi_edges", {column: [row[column] for row in rows] for column in EDGE_COLUMNS}
            )


_FLOAT64 = np.dtype(np.float64)


def firm_market_columns(model: MarketModel) -> dict[str, list[Any]]:
    """Today's outcomes per firm and target market, as the firm_market table's columns.

    One entry per (firm, target market): firms by index, each one's markets in
    order. Every column holds Python numbers.
    """
    firm, market = np.nonzero(model.strategy.active)  # row-major: firm, then market
    ordered = model.ordered_firms
    ledger, stocks, metrics = model.ledger, model.stocks, model.metrics
    flow_block = ledger.flows[:, firm, market]  # (flows, rows)
    flows = dict(zip(FLOWS, flow_block, strict=True))
    followers = stocks.followers[firm, market]
    posts = flows["posts"]
    marketing_cost = flows["spend_posts"] + flows["spend_ads"] + flows["spend_answers"]
    people = model.people_per_user[market]
    size = np.maximum(model.market_size, 1)[market]
    impressions = ledger["impressions"]
    market_impressions = np.array([impressions[:, m].sum() for m in range(model.n_markets)])
    market_impressions = market_impressions[market]
    new_customers = flows["new_customers"]
    followers_before = followers - flows["new_followers"] + flows["unfollows"]
    with np.errstate(invalid="ignore", divide="ignore"):
        engagement_rate = np.where(
            (followers != 0) & (posts != 0), flows["engagements"] / followers / posts, 0.0
        )
        acquisition_cost = np.where(
            new_customers != 0, marketing_cost / (new_customers * people), np.nan
        )
        retention = np.where(
            followers_before != 0, 1.0 - flows["unfollows"] / followers_before, 1.0
        )
        share_of_voice = np.where(
            market_impressions != 0, flows["impressions"] / market_impressions, 0.0
        )
    names = [f.name for f in ordered]
    focal = [f.is_focal for f in ordered]
    market_names = [m.name for m in model.markets]
    firm_list, market_list = firm.tolist(), market.tolist()
    customers = stocks.customers[firm, market]
    # The numeric columns: those before the flows, the flows, those after; when all
    # are float64 (the model's), converted to Python numbers as one array.
    before = {
        "attitude_mean": metrics.attitude_mean[firm, market],
        "attitude_sd": metrics.attitude_sd[firm, market],
        "awareness": stocks.aware[firm, market] / size,
        "followers": followers,
        "customers": customers,
        "people_per_user": people,
        "followers_people": followers * people,
        "customers_people": customers * people,
        "follower_share": followers / size,
        "customer_share": customers / size,
        "sales_share": stocks.sales_share[firm, market],
    }
    after = {
        "engagement_rate": engagement_rate,
        "marketing_cost": marketing_cost,
        "customer_acquisition_cost": acquisition_cost,
        "retention": retention,
        "share_of_voice": share_of_voice,
    }
    numeric = {**before, **flows, **after}
    arrays = [np.asarray(column) for column in (*before.values(), *after.values())]
    if flow_block.dtype == _FLOAT64 and all(column.dtype == _FLOAT64 for column in arrays):
        n_before = len(before)
        values = np.concatenate(
            [np.stack(arrays[:n_before]), flow_block, np.stack(arrays[n_before:])]
        ).tolist()
    else:
        values = [np.asarray(column).tolist() for column in numeric.values()]
    return {
        "step": [model.steps] * len(firm_list),
        "firm": [names[f] for f in firm_list],
        "market": [market_names[m] for m in market_list],
        "focal": [focal[f] for f in firm_list],
        **dict(zip(numeric, values, strict=True)),
    }
