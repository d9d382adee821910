"""Awareness: anything seen makes a user aware of a firm, and so does word of mouth.

Word of mouth comes from the users aware at dawn:

* social network (Goldenberg, Libai & Muller 2001): P = 1 - (1 - b_s)^m_s (1 -
  b_w)^m_w with m_s, m_w the strong and weak ties aware at dawn: each such tie tells
  the user independently (:meth:`WordOfMouth.tellings`);
* fully mixed (Bass 1969): P = 1 - (1 - q / N_m)^A_m with A_m the users of the
  market aware at dawn, a hazard of about q x (aware share)
  (:func:`mixed_word_of_mouth_probability`).

:class:`WordOfMouth` also runs the listeners pass: who heard which opinions from
their ties yesterday (shares and social influence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model import kernels
from sim.model.entries import Expressed, Heard, Touched, distinct
from sim.model.network import UserNetwork
from sim.model.sampling import GrowingArray, bernoulli_successes
from sim.model.users import Population

if TYPE_CHECKING:
    from sim.model.model import MarketModel
    from sim.scenario import NetworkSection

# Probabilities are capped below 1 so that 1 - p stays positive in the products.
MAX_PROBABILITY = 0.999999


def mixed_word_of_mouth_probability[T](imitation: float, market_size: int, aware: T) -> T:
    """Fully mixed (Bass): 1 - (1 - q / N_m)^A_m, A_m the market's users aware at dawn."""
    return -np.expm1(aware * np.log1p(-min(imitation / market_size, MAX_PROBABILITY)))


@dataclass
class WordOfMouth:
    """The user network's word of mouth and listeners pass, with their running state.

    Word of mouth draws (speaker, tie) tellings among the aware entries: every aware
    entry in the order it became aware, with the running total of its user's ties
    (strong first, then weak), so that telling number t belongs to the entry whose
    running total first exceeds t.
    """

    network: UserNetwork
    n_firms: int
    strong_tie_wom: float
    weak_tie_wom: float
    ties: object  # strong + weak ties, CSR with unit weights
    strong_degree: np.ndarray
    tie_degree: np.ndarray
    aware_entries: GrowingArray
    aware_ties: GrowingArray
    listen_scratch: tuple  # working arrays of the listeners pass, kept from day to day

    @classmethod
    def build(
        cls, network: UserNetwork, spec: NetworkSection, population: Population
    ) -> WordOfMouth:
        n_firms = population.aware.shape[1]
        ties = (network.strong + network.weak).tocsr()
        ties.data[:] = 1.0
        strong_degree = network.degree("strong").astype(np.int64)
        tie_degree = strong_degree + network.degree("weak")
        aware = np.flatnonzero(population.aware)
        return cls(
            network=network,
            n_firms=n_firms,
            strong_tie_wom=min(spec.strong_tie_wom, MAX_PROBABILITY),
            weak_tie_wom=min(spec.weak_tie_wom, MAX_PROBABILITY),
            ties=ties,
            strong_degree=strong_degree,
            tie_degree=tie_degree,
            aware_entries=GrowingArray(np.int64, aware),
            aware_ties=GrowingArray(np.int64, np.cumsum(tie_degree[aware // n_firms])),
            listen_scratch=kernels.listen_scratch(),
        )

    def listen(
        self, population: Population, expressed: Expressed, share_chances: np.ndarray, rng
    ) -> Heard:
        """Per (user, firm) entry: how many ties expressed an opinion yesterday, and its sum.

        Every tie of every speaker hears it (:func:`sim.model.kernels.listen`): the
        cost follows speakers x ties, not users. Each (speaker, tie) pair also shares
        the post with probability ``share_chances[firm, speaker's market]``
        (:func:`sim.model.exposure.share_chance`): the entries that see at least one
        share are ``Heard.shared``.
        """
        index, speakers, opinion_sum, shared, self.listen_scratch = kernels.listen(
            expressed.entries,
            population.attitude.reshape(-1),
            self.n_firms,
            self.ties.indptr,
            self.ties.indices,
            np.ascontiguousarray(share_chances, np.float64).reshape(-1),
            population.bounds,
            rng,
            self.listen_scratch,
        )
        return Heard(index, speakers, opinion_sum, shared)

    def tellings(self, population: Population, active: np.ndarray, rng) -> np.ndarray:
        """Flat entries of unaware users told about a firm today by their aware ties.

        Every tie of a user aware of firm f at dawn tells it about f today with
        probability b_s (strong tie) or b_w (weak tie), independently. Tellings are
        numbered over the aware entries' ties and drawn as the successes of
        Bernoulli trials at max(b_s, b_w), thinned to each tie's own probability:
        the cost follows the tellings, not the unaware users.
        """
        strong_wom, weak_wom = self.strong_tie_wom, self.weak_tie_wom
        bound = max(strong_wom, weak_wom)
        running = self.aware_ties.values
        if running.size == 0 or bound <= 0:
            return np.empty(0, np.int64)
        telling = bernoulli_successes(rng, int(running[-1]), bound)
        strong, weak = self.network.strong, self.network.weak
        told = kernels.told_by_ties(
            telling,
            rng.random(telling.size),
            bound,
            strong_wom,
            weak_wom,
            running,
            self.aware_entries.values,
            self.tie_degree,
            self.strong_degree,
            strong.indptr,
            strong.indices,
            weak.indptr,
            weak.indices,
            active.reshape(-1),
            population.aware.reshape(-1),
            self.n_firms,
        )
        return distinct(told)

    def note_aware(self, newly: np.ndarray) -> None:
        """Add entries that became aware today (they tell their ties from tomorrow)."""
        if newly.size == 0:
            return
        running = self.aware_ties.values
        previous = int(running[-1]) if running.size else 0
        self.aware_ties.append(previous + np.cumsum(self.tie_degree[newly // self.n_firms]))
        self.aware_entries.append(newly)


def mixed_word_of_mouth(model: MarketModel, dawn_count: np.ndarray) -> np.ndarray:
    """Fully mixed: flat entries of unaware users made aware today by those aware at dawn."""
    pop, rng, n_firms = model.population, model.rng, model.n_firms
    q = model.spec.network.mixed_wom
    found = []
    for m in range(model.n_markets):
        block = pop.block(m)
        size = block.stop - block.start
        if size == 0:
            continue
        prob = mixed_word_of_mouth_probability(q, size, dawn_count[:, m])
        hit = (
            ~pop.aware[block]
            & model.active_nf[block]
            & (rng.random((size, n_firms)) < prob[None, :])
        )
        users, firms = np.nonzero(hit)
        found.append((users + block.start) * n_firms + firms)
    return np.concatenate(found) if found else np.empty(0, np.int64)


def become_aware(model: MarketModel, touched: Touched) -> None:
    """Anything seen makes a user aware; so does word of mouth from the aware at dawn.

    Users who saw the firm today are aware already, hence not drawn for word of mouth.
    """
    pop, stocks = model.population, model.stocks
    flat_aware = pop.aware.reshape(-1)
    dawn_count = stocks.aware.copy()
    newly = touched.index[~flat_aware[touched.index]]
    flat_aware[newly] = True
    if model.word_of_mouth is not None:
        by_word = model.word_of_mouth.tellings(pop, model.active_nf, model.rng)
    else:
        by_word = mixed_word_of_mouth(model, dawn_count)
    flat_aware[by_word] = True
    newly = np.concatenate([newly, by_word])
    stocks.aware += model.cells.total(model.cells.of_entries(newly))
    if model.word_of_mouth is not None:
        model.word_of_mouth.note_aware(newly)
