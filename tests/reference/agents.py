"""Users as Mesa agents: the agent-per-user reference of the market model (issue 6).

Every user is a :class:`UserAgent` that holds its traits and, per firm, whether it
is aware of the firm, follows it, its attitude toward it and whether it is a
customer (plain lists indexed by firm). The model steps all users through each
phase with ``AgentSet.do``, as the Mesa examples do. Each method is one phase of
``sim/model.py`` written for one user; the formulas and parameters are the same
(see that module for where each comes from).

A phase only changes the user's own state and reads what its ties did on earlier
days or phases (their expressed opinions are read in ``expose``, before anyone's
attitude changes; awareness changes only in ``become_aware``, after everyone's word
of mouth was drawn), so the order in which users are stepped does not matter.
Random draws use the model's ``random`` (Python's generator, as in the Mesa
examples), seeded from the model's seed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

from sim.model.users import beta_parameters

if TYPE_CHECKING:
    from benchmarks.reference.model import ReferenceModel


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def clip(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return low if value < low else high if value > high else value


class UserAgent(mesa.Agent):
    """A social media user in one market, with a relationship to every firm."""

    model: ReferenceModel

    def __init__(self, model: ReferenceModel, market: int) -> None:
        super().__init__(model)
        spec = model.markets[market]
        users = model.spec.users
        self.market = market
        self.sns_dependency = self._draw_trait(spec.dependency_mean, spec.dependency_sd)
        self.transactional_motive = self._draw_trait(spec.transactional_motive_mean, spec.motive_sd)
        self.relational_motive = self._draw_trait(spec.relational_motive_mean, spec.motive_sd)
        attention = (users.attention_base + self.sns_dependency) / (users.attention_base + 1.0)
        # Share of a followed firm's posts this user sees (before regulation filters).
        self.organic_seen = spec.organic_reach * attention

        n_firms = model.n_firms
        self.aware = [False] * n_firms
        self.following = [False] * n_firms
        self.attitude = [0.0] * n_firms
        self.customer = [False] * n_firms
        self.strong_ties: list[UserAgent] = []
        self.weak_ties: list[UserAgent] = []
        self.ties: list[UserAgent] = []  # strong or weak, each neighbour once
        self.expressed: set[int] = set()  # firms engaged with or bought from: ties hear it tomorrow
        self._seed_relationships()

        # Today's encounters, by firm; set in expose and read by the later phases.
        self.seen: dict[int, int] = {}  # items seen (posts, ads, shares, referrals)
        self.own_posts: dict[int, int] = {}  # of which the firm's own posts, as a follower
        self.referred: dict[int, int] = {}  # firm -> the partner that referred the user
        self.heard: dict[int, list[float]] = {}  # firm -> [ties who expressed, their attitudes]
        self.newly_aware: list[int] = []
        self.fit: dict[int, float] = {}
        self.consumed: dict[int, int] = {}
        self.engaged: dict[int, int] = {}
        self.answered: set[int] = set()
        self.ignored: set[int] = set()
        self.excess_posts: dict[int, float] = {}

    def _draw_trait(self, mean: float, sd: float) -> float:
        alpha, beta = beta_parameters(mean, sd)
        return self.random.betavariate(alpha, beta)

    def _seed_relationships(self) -> None:
        """Initial awareness, following and attitude from each strategy's initial_* keys."""
        for firm, strategy in self.model.strategies_in_market[self.market]:
            if self.random.random() < strategy.initial_awareness:
                self.aware[firm] = True
                follow = strategy.initial_followers / strategy.initial_awareness
                self.following[firm] = self.random.random() < follow
                self.attitude[firm] = clip(self.random.gauss(strategy.initial_attitude, 0.2))

    # ------------------------------------------------------------------ phase 2
    def expose(self) -> None:
        """What this user sees from each firm today: own posts, ads, shares, referrals."""
        model, today, m = self.model, self.model.today, self.market
        tally = model.tally
        rand = self.random.random
        binomial = self.random.binomialvariate
        self.seen, self.own_posts, self.referred, self.newly_aware = {}, {}, {}, []
        self.heard = self._hear_ties() if model.network is not None else {}
        for f in model.firms_here[m]:
            posts = today.posts[f][m]
            own = items = 0
            if self.following[f]:
                if posts:
                    own = items = binomial(posts, self.organic_seen * today.pass_share[f][m])
            else:
                ad_reach = today.ad_reach[f][m]
                if ad_reach and rand() < ad_reach:
                    items += 1
                    tally["ad_impressions"][f][m] += 1
            share_prob = self._share_probability(f)
            if share_prob and rand() < share_prob:
                items += 1
                tally["share_impressions"][f][m] += 1
            if not self.customer[f]:
                referrer = self._referrer(f)
                if referrer is not None:
                    self.referred[f] = referrer
                    items += 1
                    tally["referrals"][f][m] += 1
            if items:
                self.seen[f] = items
                self.own_posts[f] = own
        for g in model.firms_here[m]:
            if self.following[g] and today.promoted_by[g]:
                self._see_cross_promotion(g)
        for f, items in self.seen.items():
            tally["impressions"][f][m] += items
            tally["reach"][f][m] += 1

    def _see_cross_promotion(self, giver: int) -> None:
        """Partner ``giver`` shows its partners' posts to this follower (guanxi favour).

        This user, if not following the receiver, sees one of the receiver's posts with
        probability cross_promotion x weight x organic reach x attention x pass x posts;
        the impression is booked as the receiver's benefit at the market's ad price.
        """
        model, today, m = self.model, self.model.today, self.market
        for f, promotion in today.promoted_by[giver]:
            posts = today.posts[f][m]
            if not posts or self.following[f]:
                continue
            prob = promotion * self.organic_seen * today.pass_share[f][m] * posts
            if self.random.random() < prob:
                model.tally["cross_promotion_impressions"][f][m] += 1
                self.seen[f] = self.seen.get(f, 0) + 1
                self.own_posts.setdefault(f, 0)
                model.benefit[giver][f] += model.markets[m].ad_cost_per_impression

    def _referrer(self, f: int) -> int | None:
        """The partner of firm f (if any) that refers this customer of its own to f today."""
        for giver, rate in self.model.today.referrers[f]:
            if self.customer[giver] and self.random.random() < rate:
                return giver
        return None

    def _hear_ties(self) -> dict[int, list[float]]:
        """Per firm: how many ties expressed an opinion yesterday, and their attitudes' sum."""
        heard: dict[int, list[float]] = {}
        for tie in self.ties:
            for f in tie.expressed:
                entry = heard.get(f)
                if entry is None:
                    heard[f] = [1, tie.attitude[f]]
                else:
                    entry[0] += 1
                    entry[1] += tie.attitude[f]
        return heard

    def _share_probability(self, f: int) -> float:
        """P(seeing at least one post of firm f that ties engaged with or bought yesterday)."""
        model = self.model
        share_reach = model.spec.network.share_reach
        if share_reach <= 0:
            return 0.0
        if model.network is not None:
            heard = self.heard.get(f)
            if heard is None:
                return 0.0
            return 1.0 - (1.0 - min(share_reach, 0.999999)) ** heard[0]
        # Fully mixed: the market's expressers, spread over a user's tie count.
        net = model.spec.network
        share = model.today.expressers[f][self.market] / max(model.market_size[self.market], 1)
        return 1.0 - math.exp(-share_reach * (net.strong_ties + net.weak_ties) * share)

    def hear_word_of_mouth(self) -> None:
        """Unaware firms this user saw nothing of today may reach it by word of mouth."""
        for f in self.model.firms_here[self.market]:
            if (
                not self.aware[f]
                and f not in self.seen
                and self.random.random() < self._word_of_mouth_probability(f)
            ):
                self.newly_aware.append(f)

    def _word_of_mouth_probability(self, f: int) -> float:
        """P(aware others make this user aware of firm f today).

        Social network (Goldenberg et al. 2001): 1 - (1 - b_s)^m_s (1 - b_w)^m_w with
        m_s, m_w the aware strong and weak ties. Fully mixed (Bass 1969):
        1 - (1 - q / N_m)^A_m with A_m the users of the market aware at dawn.
        """
        model, net = self.model, self.model.spec.network
        if model.network is not None:
            strong = sum(1 for tie in self.strong_ties if tie.aware[f])
            weak = sum(1 for tie in self.weak_ties if tie.aware[f])
            if not strong and not weak:
                return 0.0
            not_told = (1.0 - min(net.strong_tie_wom, 0.999999)) ** strong * (
                1.0 - min(net.weak_tie_wom, 0.999999)
            ) ** weak
            return 1.0 - not_told
        size = model.market_size[self.market]
        aware = model.today.aware_count[f][self.market]
        return 1.0 - (1.0 - min(net.mixed_wom / size, 0.999999)) ** aware

    def become_aware(self) -> None:
        """Anything seen makes the user aware, and so does word of mouth."""
        for f in self.seen:
            self.aware[f] = True
        for f in self.newly_aware:
            self.aware[f] = True

    # ------------------------------------------------------------------ phase 3
    def consume_and_engage(self) -> None:
        """Consume seen items and engage with consumed ones (Zhang 2025's behaviours)."""
        model, today, m = self.model, self.model.today, self.market
        users, crm = model.spec.users, model.spec.crm
        binomial = self.random.binomialvariate
        dependency = self.sns_dependency
        self.fit, self.consumed, self.engaged = {}, {}, {}
        for f, items in self.seen.items():
            fit = (
                today.transactional_share[f][m] * self.transactional_motive
                + today.relational_share[f][m] * self.relational_motive
            ) * today.fit_discount[f][m]
            fit += crm.targeting_effect * today.crm[f] * (1.0 - fit)
            attitude = self.attitude[f]
            p_consume = sigmoid(
                users.consume_intercept
                + users.consume_per_dependency * dependency
                + users.consume_per_fit * fit
                + users.consume_per_attitude * attitude
            )
            consumed = binomial(items, p_consume)
            engaged = 0
            if consumed:
                p_engage = sigmoid(
                    users.engage_intercept
                    + users.engage_per_dependency * dependency
                    + users.engage_per_relational_motive * self.relational_motive
                    + users.engage_per_fit * fit
                    + users.engage_per_attitude * attitude
                    + users.engage_per_collectivism * model.collectivism[m]
                )
                engaged = binomial(consumed, p_engage)
                model.tally["consumed"][f][m] += consumed
                model.tally["engagements"][f][m] += engaged
            self.fit[f] = fit
            self.consumed[f] = consumed
            self.engaged[f] = engaged

    # ------------------------------------------------------------------ phase 4
    def receive_answers(self) -> None:
        """The firm answers this user's comments with its answer share, or ignores them."""
        model, m = self.model, self.market
        self.answered, self.ignored = set(), set()
        for f, engaged in self.engaged.items():
            if not engaged:
                continue
            if self.random.random() < model.today.answer_share[f][m]:
                self.answered.add(f)
                model.tally["answered"][f][m] += 1
            else:
                self.ignored.add(f)
                model.tally["ignored"][f][m] += 1

    # ------------------------------------------------------------------ phase 5
    def update_attitude(self) -> None:
        """Content valence and fit, answers and over-posting fatigue."""
        users = self.model.spec.users
        neutral = users.neutral_fit
        self.excess_posts = {}
        for f in self.seen:
            attitude = self.attitude[f]
            valence = clip((self.fit[f] - neutral) / (1.0 - neutral))
            learned = 1.0 - (1.0 - users.attitude_learning_rate) ** self.consumed[f]
            attitude += learned * (valence - attitude)
            if f in self.answered:
                attitude += users.response_effect
            elif f in self.ignored:
                attitude -= users.ignored_effect
            excess = max(0.0, self.own_posts[f] - users.fatigue_threshold)
            attitude -= users.fatigue_per_post * excess
            self.excess_posts[f] = excess
            self.attitude[f] = clip(attitude)

    def listen(self) -> None:
        """Move toward the opinion ties expressed (weighted by collectivism), then decay."""
        model, m = self.model, self.market
        weight = model.spec.users.social_influence * model.collectivism[m]
        attitude = self.attitude
        if model.network is not None:
            for f, (count, total) in self.heard.items():
                if self.aware[f]:
                    attitude[f] += weight * (total / count - attitude[f])
        else:
            for f in model.firms_here[m]:
                opinion = model.today.market_opinion[f][m]
                if opinion is not None and self.aware[f]:
                    attitude[f] += weight * (opinion - attitude[f])
        keep = 1.0 - model.spec.users.attitude_decay
        self.attitude = [a * keep for a in attitude]

    # ------------------------------------------------------------------ phase 6
    def follow_or_unfollow(self) -> None:
        """Follow firms whose content was consumed; leave others (fatigue, dislike)."""
        model, today, m = self.model, self.model.today, self.market
        users, crm = model.spec.users, model.spec.crm
        rand = self.random.random
        leaving = []
        for f in model.firms_here[m]:
            if self.following[f]:
                p_unfollow = (
                    users.unfollow_base
                    + users.unfollow_per_fatigue * self.excess_posts.get(f, 0.0)
                    + users.unfollow_per_negative_attitude * max(0.0, -self.attitude[f])
                ) * (1.0 - crm.retention_effect * today.crm[f])
                if rand() < p_unfollow:
                    leaving.append(f)
        joining = []
        for f, consumed in self.consumed.items():
            if consumed and not self.following[f]:
                p_follow = sigmoid(
                    users.follow_intercept
                    + users.follow_per_transactional
                    * today.transactional_share[f][m]
                    * self.transactional_motive
                    + users.follow_per_relational
                    * today.relational_share[f][m]
                    * self.relational_motive
                    + users.follow_per_dependency * self.sns_dependency
                    + users.follow_per_attitude * self.attitude[f]
                )
                if rand() < p_follow:
                    joining.append(f)
        for f in leaving:
            self.following[f] = False
            model.tally["unfollows"][f][m] += 1
        for f in joining:
            self.following[f] = True
            model.tally["new_followers"][f][m] += 1

    # ------------------------------------------------------------------ phase 7
    def purchase(self) -> None:
        """Buy after consuming content (shop or redirect); then express opinions tomorrow."""
        model, today, m = self.model, self.model.today, self.market
        users = model.spec.users
        value = model.markets[m].purchase_value
        bought = []
        for f, consumed in self.consumed.items():
            if not consumed:
                continue
            attitude = self.attitude[f]
            intent = (
                users.purchase_intent_base
                * (1.0 + users.incentive_effect * today.promotional_share[f][m])
                * (1.0 + attitude)
                * (1.0 + model.spec.crm.conversion_effect * today.crm[f])
            )
            if self.random.random() < min(1.0, intent * today.checkout[f][m]):
                bought.append(f)
                model.tally["conversions"][f][m] += 1
                model.tally["revenue"][f][m] += value
                if not self.customer[f]:
                    model.tally["new_customers"][f][m] += 1
                self.customer[f] = True
                quality = model.firm_by_index[f].product_quality
                self.attitude[f] = attitude + users.experience_weight * (quality - attitude)
        for f in bought:
            if f in self.referred:
                # The referring partner's favour: the gross margin on the purchase.
                giver = self.referred[f]
                model.benefit[giver][f] += value * model.firm_by_index[f].gross_margin
        self.expressed = {f for f, engaged in self.engaged.items() if engaged}
        self.expressed.update(bought)
