"""The market model: users (numpy arrays), firms (Mesa agents) and guanxi (networkx).

One step is one day (docs/model.md, section 3); each phase is a module:

1. firms act (``AgentSet.shuffle_do``): posts, ads within budget, adaptive revision,
   partner search (:mod:`sim.model.firms`);
2. exposure: posts, ads, cross-promotion, shares, referrals, and awareness with
   word of mouth (:mod:`~sim.model.exposure`, :mod:`~sim.model.awareness`);
3. consumption and engagement (:mod:`~sim.model.engagement`);
4. firms answer a share of comments (:mod:`~sim.model.answers`);
5. attitude: content, answers, fatigue, ties' opinions, decay (:mod:`~sim.model.attitude`);
6. follow and unfollow (:mod:`~sim.model.following`);
7. purchase through an in-platform shop or a redirect (:mod:`~sim.model.purchase`);
8. social CRM capability (:mod:`~sim.model.crm`);
9. guanxi: book favours, strengthen and decay ties, evaluate, sever
   (:mod:`~sim.model.guanxi`, :mod:`~sim.model.benefits`); close the books;
10. measure the stocks and record the day (:mod:`~sim.model.stocks`,
    :mod:`~sim.model.reporting`).

Phases hand each other explicit values; what a day counts goes in its
:class:`~sim.model.ledger.Ledger`. Only the (user, firm) entries a user touched
today are processed in phases 3-7, so the cost of a step grows with activity
rather than users x firms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.model.answers import answer_comments
from sim.model.attitude import update_attitudes
from sim.model.awareness import WordOfMouth
from sim.model.crm import update_crm_capability
from sim.model.culture import Culture
from sim.model.engagement import consume_and_engage
from sim.model.entries import Cells, Expressed, distinct
from sim.model.exposure import Scratch, attention, expose
from sim.model.firms import book_plans, close_books, create_firms
from sim.model.following import follow_and_unfollow, reach_dilution
from sim.model.guanxi import GuanxiNetwork
from sim.model.ledger import Ledger
from sim.model.network import build_user_network
from sim.model.purchase import expected_sales_shares, purchase
from sim.model.reporting import build_datacollector, collect
from sim.model.stocks import Stocks, measure
from sim.model.strategy import StrategyTable
from sim.model.users import Population
from sim.scenario import Scenario, load_scenario, scenario_from_data


class MarketModel(mesa.Model):
    """Agent-based market of users, firms and guanxi ties, built from one scenario.

    Args:
        spec: a validated :class:`Scenario`, a bundled scenario's name or a TOML path.
        rng: seed or generator for every random draw; defaults to ``[model] seed``.
        **overrides: scenario parameters by dotted path with ``__`` for dots, e.g.
            ``guanxi__enabled=False`` or ``firms__ours__strategies__china__shop=True``
            (usable with ``mesa.batch_run``); validated like the file.
    """

    def __init__(
        self, spec: Scenario | str | Path = "baseline", *, rng: Any = None, **overrides: Any
    ) -> None:
        dotted = {key.replace("__", "."): value for key, value in overrides.items()}
        if not isinstance(spec, Scenario):
            spec = load_scenario(spec, dotted)
        elif dotted:
            spec = scenario_from_data(spec.model_dump(mode="json"), "scenario", dotted)
        super().__init__(rng=spec.model.seed if rng is None else rng)
        self.spec = spec
        self.markets = spec.markets
        self.market_index = {m.name: i for i, m in enumerate(spec.markets)}
        self.n_markets = len(spec.markets)
        self.n_firms = len(spec.firms)

        self.population = pop = Population.from_scenario(spec, self.rng)
        # The largest switching propensity: the rate of the candidates for unfollowing.
        self.switching_max = float(pop.switching.max()) if pop.n_users else 1.0
        self.word_of_mouth: WordOfMouth | None = None
        network = None
        if spec.network.structure == "social":
            network = build_user_network(
                pop.market,
                spec.network.strong_ties,
                spec.network.weak_ties,
                spec.network.homophily,
                self.rng,
            )
        self.strategy = StrategyTable.from_scenario(spec)
        create_firms(self, spec)
        self.guanxi = GuanxiNetwork(self)

        self.market_size = np.diff(pop.bounds).astype(float)
        # A simulated user of market m stands for people_per_user[m] real people.
        population = np.array([m.population for m in self.markets], float)
        self.people_per_user = population / np.maximum(self.market_size, 1.0)
        self.brands_followed_mean = np.array([m.brands_followed_mean for m in self.markets])
        # Per market: organic reach and mean SNS dependency (for organic_reach_of).
        self.organic_reach = np.array([m.organic_reach for m in self.markets])
        self.dependency_mean = np.array([m.dependency_mean for m in self.markets])
        # The users' share of a followed brand's posts seen (organic reach x attention x
        # dilution by the brands they follow), kept up to date when they follow or leave.
        self.organic_seen = self.organic_reach_of(np.arange(pop.n_users))  # (N,) float32
        self.organic_seen_max = self.organic_reach_bound()
        self.active_nf = self.strategy.active.T[pop.market]  # (N, F): the firm targets the user
        self.home_market = np.array([firm.home_market for firm in self.ordered_firms])
        culture = Culture.of(self.markets, self.home_market)
        self.collectivism = culture.collectivism
        self.cultural_distance = culture.cultural_distance
        self.foreign = culture.foreign
        self.cells = Cells(pop.market, self.n_firms, self.n_markets)
        self.scratch = Scratch.of_size(pop.n_users * self.n_firms)
        if network is not None:
            self.word_of_mouth = WordOfMouth.build(network, spec.network, pop)

        self.stocks = Stocks.count(pop, self.n_markets)
        self.ledger = Ledger.open(self.cells)
        self.expressed = Expressed.none()
        self.expected_comments: np.ndarray | None = None  # (F, M) real comments a day
        self.interaction_volume: np.ndarray | None = None  # (F,) real interactions a day
        self.stocks.sales_share = expected_sales_shares(self)
        self.metrics = measure(self.stocks, self.market_size, self.strategy.active)
        self.datacollector = build_datacollector()
        collect(self)

    # ------------------------------------------------------------------ reach
    def organic_reach_of(self, users: np.ndarray) -> np.ndarray:
        """Share of a followed brand's posts each of ``users`` sees (float32, 0-1).

        The market's organic reach, scaled by the user's attention relative to the
        market's mean (:func:`~sim.model.exposure.attention`) and by the dilution of
        the brands it follows (:func:`~sim.model.following.reach_dilution`).
        """
        pop, users_spec = self.population, self.spec.users
        market = pop.market[users]
        organic = self.organic_reach[market]
        mean_dependency = self.dependency_mean[market]
        base = users_spec.attention_base
        relative = attention(base, pop.sns_dependency[users]) / attention(base, mean_dependency)
        dilution = reach_dilution(
            users_spec.attention_slots,
            self.brands_followed_mean[market],
            pop.brands_followed[users],
        )
        return np.minimum(1.0, organic * relative * dilution).astype(np.float32)

    def organic_reach_bound(self) -> np.ndarray:
        """Per market, the highest :meth:`organic_reach_of` any user can have (full
        attention, no brand followed): the bound of the thinned draws of posts seen."""
        users_spec = self.spec.users
        bound = []
        for m, market in enumerate(self.markets):
            top = market.organic_reach / attention(
                users_spec.attention_base, market.dependency_mean
            )
            top *= reach_dilution(users_spec.attention_slots, self.brands_followed_mean[m], 0.0)
            bound.append(min(1.0, top))
        return np.array(bound)

    # ------------------------------------------------------------------ views
    @property
    def network(self):
        """The user network (strong and weak ties), or None when fully mixed."""
        return None if self.word_of_mouth is None else self.word_of_mouth.network

    @property
    def aware_count(self) -> np.ndarray:
        return self.stocks.aware

    @property
    def followers_count(self) -> np.ndarray:
        return self.stocks.followers

    @property
    def customers_count(self) -> np.ndarray:
        return self.stocks.customers

    @property
    def attitude_mean(self) -> np.ndarray:
        return self.metrics.attitude_mean

    @property
    def attitude_sd(self) -> np.ndarray:
        return self.metrics.attitude_sd

    @property
    def flows(self) -> np.ndarray:
        """The last day's flows per (firm, market) (:data:`sim.model.ledger.FLOWS`)."""
        return self.ledger.flows

    def non_followers(self, firm: int, market: int) -> int:
        return int(self.market_size[market] - self.stocks.followers[firm, market])

    def crm_capability(self) -> np.ndarray:
        """Every firm's social CRM capability, by index."""
        return np.array([firm.crm_capability for firm in self.ordered_firms])

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """One day, in the order of the design."""
        self.ledger = ledger = Ledger.open(self.cells)
        self.guanxi.start_day()
        self.firms.shuffle_do("act")
        posts = np.array([firm.posts_today for firm in self.ordered_firms], np.int64)
        ad_reach = np.array([firm.ad_reach_today for firm in self.ordered_firms], np.float64)
        book_plans(self, ledger)
        exposure = expose(self, ledger, posts, ad_reach)
        touched = exposure.touched
        fit, consumed, engagements = consume_and_engage(self, ledger, touched)
        answered, ignored = answer_comments(self, ledger, touched, engagements)
        excess = update_attitudes(self, touched, fit, consumed, answered, ignored, exposure.heard)
        follow_and_unfollow(self, ledger, touched, consumed, excess, fit, exposure.followers)
        buyers = purchase(self, ledger, touched, consumed, exposure.referral_source)
        # Users who engaged or bought today express their opinion to ties tomorrow.
        # (np.union1d's values: the sorted distinct entries of both.)
        self.expressed = Expressed(
            distinct(np.concatenate([touched.index[engagements > 0], buyers]))
        )
        update_crm_capability(self, ledger)
        self.guanxi.end_day(ledger)
        close_books(self, ledger)
        self.stocks.note_sales(ledger)
        self.metrics = measure(self.stocks, self.market_size, self.strategy.active)
        collect(self)
