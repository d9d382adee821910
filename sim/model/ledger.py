"""A day's ledger: the flows per (firm, market) and the benefits between partners.

Counts are of simulated users (times ``people_per_user`` for real people); money
flows are in currency, per real person already.

Every phase books what it counts here (impressions, engagements, answers,
conversions, revenue, ...), and the favours partners did each other (the value
firm f received from firm g today), which the guanxi phase then books on the ties.
A new ledger is opened each day; the model keeps the last one for reporting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.entries import Cells

# Columns of the per-firm, per-market daily flows.
FLOWS = (
    "posts",
    "impressions",
    "reach",
    "consumed",
    "consumers",  # users (entries) who consumed at least one item: distinct users a day
    "engagements",
    "engagers",  # users who engaged at least once
    "comments",  # engagements that are comments or messages a brand can answer
    "answered",
    "ignored",
    "new_followers",
    "unfollows",
    # Unfollows by cause: each leaver split over the parts of its unfollow probability.
    "unfollows_promotion",
    "unfollows_irrelevance",
    "unfollows_overposting",
    "unfollows_attitude",
    "unfollows_base",
    "shop_visits",  # visits to the brand's shop after consuming its content
    "conversions",  # purchases of the brand: social + category
    "social_purchases",  # after consuming the brand's content (social commerce)
    "category_purchases",  # by choice when in the market for the category
    "market_purchases",  # every category and social purchase in the market (all brands)
    "new_customers",
    # Money (currency, per real person): revenue, the platform's commission on shop
    # sales, and the social media spend on posts, ads and answers.
    "revenue",
    "commission",
    "spend_posts",
    "spend_ads",
    "spend_answers",
    "ad_impressions",
    "cross_promotion_impressions",
    "share_impressions",
    "referrals",
)


@dataclass
class Ledger:
    flows: np.ndarray  # (len(FLOWS), F, M)
    benefit: np.ndarray  # (F, F): benefit[g, f] = value firm f received from firm g today
    cells: Cells

    @classmethod
    def open(cls, cells: Cells) -> Ledger:
        return cls(
            flows=np.zeros((len(FLOWS), cells.n_firms, cells.n_markets)),
            benefit=np.zeros((cells.n_firms, cells.n_firms)),
            cells=cells,
        )

    def __getitem__(self, name: str) -> np.ndarray:
        """Today's flow ``name`` per (firm, market) (a view: writable)."""
        return self.flows[FLOWS.index(name)]

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self.flows[FLOWS.index(name)] = values

    def add(self, name: str, cells: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add per-entry ``weights`` (None: one each) by (firm, market) cell to flow ``name``."""
        self.flows[FLOWS.index(name)] += self.cells.total(cells, weights)

    def add_entries(self, name: str, index: np.ndarray, items: np.ndarray) -> None:
        """Add per-entry ``items`` of flat (user, firm) entries to flow ``name``."""
        self.add(name, self.cells.of_entries(index), items)

    def by_firm(self, name: str) -> np.ndarray:
        """Today's flow ``name`` per firm, over its markets."""
        return self[name].sum(axis=1)

    def people_by_firm(self, name: str, people_per_user: np.ndarray) -> np.ndarray:
        """Today's count ``name`` per firm in real people (simulated x people per user)."""
        return (self[name] * people_per_user[None, :]).sum(axis=1)
