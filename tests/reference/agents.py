"""Users as Mesa agents: the user side of the agent-per-user reference.

Every user is a :class:`UserAgent` that holds its traits and, per firm, whether it
is aware of the firm, follows it, its attitude toward it and whether it is a
customer (plain lists indexed by firm). The model steps all users through each
phase with ``AgentSet.do``, as the Mesa examples do. Each method is one phase of
:mod:`sim.model` for one user: it evaluates the mechanism modules' equations on
this user's numbers (Python floats), draws the outcomes with the model's
``random`` (Python's generator, seeded from the model's seed) and adds them to
the model's tallies per (firm, market).

What users know of their ties is pushed to them rather than looked up: a user who
becomes aware of a firm adds one to each tie's count of aware strong or weak ties
(:meth:`UserAgent.become_aware`), and the few users who expressed an opinion
yesterday tell each tie their attitude at dawn (:meth:`UserAgent.speak`, into the
tie's inbox: per firm, how many ties expressed an opinion and the sum of their
attitudes). Nobody scans its ties every day.

A phase only changes the user's own state and reads what its ties did on earlier
days or phases (their opinions arrive in ``speak`` before anyone's attitude changes;
the aware-tie counts change only in ``become_aware``, after everyone's word of mouth
was drawn), so the order in which users are stepped does not matter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from sim.model.attitude import after_the_day, excess_posts, toward
from sim.model.benefits import referral_value
from sim.model.elementwise import clip
from sim.model.engagement import consume_probability, content_fit, engage_probability
from sim.model.exposure import attention
from sim.model.following import follow_probability, unfollow_probability
from sim.model.purchase import purchase_probability
from sim.model.users import beta_parameters

if TYPE_CHECKING:
    from tests.reference.model import ReferenceModel


class UserAgent(mesa.Agent):
    """A social media user in one market, with a relationship to every firm."""

    model: ReferenceModel

    def __init__(self, model: ReferenceModel, market: int) -> None:
        super().__init__(model)
        spec = model.markets[market]
        self.market = market
        self.sns_dependency = self._draw_trait(spec.dependency_mean, spec.dependency_sd)
        self.transactional_motive = self._draw_trait(spec.transactional_motive_mean, spec.motive_sd)
        self.relational_motive = self._draw_trait(spec.relational_motive_mean, spec.motive_sd)
        # Share of a followed firm's posts this user sees (before regulation filters).
        self.organic_seen = spec.organic_reach * attention(
            model.spec.users.attention_base, self.sns_dependency
        )

        n_firms = model.n_firms
        self.aware = [False] * n_firms
        self.following = [False] * n_firms
        self.attitude = [0.0] * n_firms
        self.customer = [False] * n_firms
        self.strong_ties: list[UserAgent] = []
        self.weak_ties: list[UserAgent] = []
        self.ties: list[UserAgent] = []  # strong or weak, each neighbour once
        # Per firm: how many strong and weak ties are aware of it (kept by the ties).
        self.aware_strong = [0] * n_firms
        self.aware_weak = [0] * n_firms
        self.expressed: set[int] = set()  # firms engaged with or bought from: ties hear it tomorrow
        # Per firm: ties who expressed an opinion yesterday and the sum of their
        # attitudes at dawn, as the speakers send them (read as heard_* today).
        self.inbox_count = [0] * n_firms
        self.inbox_sum = [0.0] * n_firms
        self.inbox_any = False
        self._seed_relationships()

        # Today's encounters, by firm; set in expose and read by the later phases.
        self.seen: dict[int, int] = {}  # items seen (posts, ads, shares, referrals)
        self.own_posts: dict[int, int] = {}  # of which the firm's own posts, as a follower
        self.referred: dict[int, int] = {}  # firm -> the partner that referred the user
        self.heard_count = self.heard_sum = self.inbox_count  # today's inbox; read if heard_any
        self.heard_any = False
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
                self.attitude[firm] = clip(
                    self.random.gauss(strategy.initial_attitude, 0.2), -1.0, 1.0
                )

    # ------------------------------------------------------------------ phase 2
    def expose(self) -> None:
        """What this user sees from each firm today: own posts, ads, shares, referrals."""
        model, today, m = self.model, self.model.today, self.market
        tally = model.tally
        rand = self.random.random
        binomial = self.random.binomialvariate
        unshared = 1.0 - model.share_reach
        self.seen, self.own_posts, self.referred, self.newly_aware = {}, {}, {}, []
        heard_any = self.heard_any = self.inbox_any
        if heard_any:  # today's opinions are the inbox; a fresh inbox for tomorrow's
            self.heard_count, self.heard_sum = self.inbox_count, self.inbox_sum
            self.inbox_count, self.inbox_sum = [0] * model.n_firms, [0.0] * model.n_firms
            self.inbox_any = False
        heard_count = self.heard_count
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
            if model.network is not None:
                # Each tie that expressed an opinion yesterday shares the post with
                # share_reach: at least one of n does with 1 - (1 - share_reach)^n.
                heard = heard_count[f] if heard_any else 0
                shared = heard > 0 and rand() >= unshared**heard
            else:
                chance = today.share_probability[f][m]
                shared = chance > 0 and rand() < chance
            if shared:
                items += 1
                tally["share_impressions"][f][m] += 1
            if today.referrers[f] and not self.customer[f]:
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

        This user, if not following the receiver, sees one of the receiver's posts
        with the tie's cross-promotion chance x the user's organic share seen; the
        impression is booked as the receiver's benefit at the market's ad price.
        """
        model, m = self.model, self.market
        for f, chances in model.today.promoted_by[giver]:
            chance = chances[m]
            if not chance or self.following[f]:
                continue
            if self.random.random() < chance * self.organic_seen:
                model.tally["cross_promotion_impressions"][f][m] += 1
                self.seen[f] = self.seen.get(f, 0) + 1
                self.own_posts.setdefault(f, 0)
                model.benefit[giver][f] += model.markets[m].ad_cost_per_impression

    def _referrer(self, f: int) -> int | None:
        """The partner of firm f (if any) that refers this customer of its own to f today."""
        for giver, chance in self.model.today.referrers[f]:
            if self.customer[giver] and self.random.random() < chance:
                return giver
        return None

    def speak(self) -> None:
        """Tell every tie this user's attitude toward each firm it expressed an opinion on.

        Called at dawn for the users who engaged or bought yesterday; each tie finds
        the count and sum in its ``inbox`` when it is exposed today.
        """
        opinions = [(f, self.attitude[f]) for f in self.expressed]
        for tie in self.ties:
            count, total = tie.inbox_count, tie.inbox_sum
            for f, attitude in opinions:
                count[f] += 1
                total[f] += attitude
            tie.inbox_any = True

    def hear_word_of_mouth(self) -> None:
        """Unaware firms this user saw nothing of today may reach it by word of mouth.

        On a network every strong and weak tie aware at dawn tells the user
        independently, with the tie kind's probability: the user is told with
        P = 1 - (1 - b_s)^m_s (1 - b_w)^m_w, m_s and m_w its aware strong and weak
        ties (counts the ties keep up to date). Fully mixed, with the market's
        probability of the day
        (:func:`sim.model.awareness.mixed_word_of_mouth_probability`).
        """
        model, m = self.model, self.market
        rand = self.random.random
        if model.network is not None:
            strong_miss, weak_miss = model.strong_miss, model.weak_miss
            aware, seen = self.aware, self.seen
            aware_strong, aware_weak = self.aware_strong, self.aware_weak
            for f in model.firms_here[m]:
                if aware[f] or f in seen:
                    continue
                strong, weak = aware_strong[f], aware_weak[f]
                if (strong or weak) and rand() >= strong_miss[strong] * weak_miss[weak]:
                    self.newly_aware.append(f)
            return
        word_of_mouth = model.today.word_of_mouth
        for f in model.firms_here[m]:
            if not self.aware[f] and f not in self.seen and rand() < word_of_mouth[f][m]:
                self.newly_aware.append(f)

    def become_aware(self) -> None:
        """Anything seen makes the user aware, and so does word of mouth.

        On a network, each firm the user becomes aware of counts once more for its
        ties' word of mouth from tomorrow.
        """
        aware = self.aware
        newly = [f for f in self.seen if not aware[f]]
        newly.extend(self.newly_aware)
        for f in newly:
            aware[f] = True
        if newly and self.model.network is not None:
            self.tell_ties_aware(newly)

    def tell_ties_aware(self, firms: list[int]) -> None:
        """Add one to each tie's count of aware strong or weak ties, for each of ``firms``."""
        for tie in self.strong_ties:
            counts = tie.aware_strong
            for f in firms:
                counts[f] += 1
        for tie in self.weak_ties:
            counts = tie.aware_weak
            for f in firms:
                counts[f] += 1

    # ------------------------------------------------------------------ phase 3
    def consume_and_engage(self) -> None:
        """Consume seen items and engage with consumed ones (Zhang 2025's behaviours)."""
        model, today, m = self.model, self.model.today, self.market
        users, crm = model.spec.users, model.spec.crm
        tally = model.tally
        binomial = self.random.binomialvariate
        dependency = self.sns_dependency
        self.fit, self.consumed, self.engaged = {}, {}, {}
        for f, items in self.seen.items():
            fit = content_fit(
                today.transactional_share[f][m],
                self.transactional_motive,
                today.relational_share[f][m],
                self.relational_motive,
                today.fit_kept[f][m],
                today.crm[f],
                crm,
            )
            attitude = self.attitude[f]
            consumed = binomial(items, consume_probability(users, dependency, fit, attitude))
            engaged = 0
            if consumed:
                p_engage = engage_probability(
                    users,
                    dependency,
                    self.relational_motive,
                    fit,
                    attitude,
                    model.collectivism[m],
                )
                engaged = binomial(consumed, p_engage)
                tally["consumed"][f][m] += consumed
                tally["consumers"][f][m] += 1
                if engaged:
                    tally["engagements"][f][m] += engaged
                    tally["engagers"][f][m] += 1
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
        self.excess_posts = {}
        for f in self.seen:
            excess = excess_posts(self.own_posts[f], users.fatigue_threshold)
            self.attitude[f] = after_the_day(
                self.attitude[f],
                self.fit[f],
                self.consumed[f],
                f in self.answered,
                f in self.ignored,
                excess,
                users,
            )
            self.excess_posts[f] = excess

    def listen(self) -> None:
        """Move toward the opinion ties expressed (weighted by collectivism), then decay."""
        model, m = self.model, self.market
        weight = model.influence_weight[m]
        attitude = self.attitude
        if model.network is not None:
            if self.heard_any:
                count, total, aware = self.heard_count, self.heard_sum, self.aware
                for f in model.firms_here[m]:
                    if count[f] and aware[f]:
                        attitude[f] = toward(attitude[f], total[f] / count[f], weight)
        else:
            for f in model.firms_here[m]:
                opinion = model.today.market_opinion[f][m]
                if opinion is not None and self.aware[f]:
                    attitude[f] = toward(attitude[f], opinion, weight)
        keep = model.attitude_kept
        self.attitude = [a * keep for a in attitude]

    # ------------------------------------------------------------------ phase 6
    def follow_or_unfollow(self) -> None:
        """Follow firms whose content was consumed; leave others (fatigue, dislike)."""
        model, today, m = self.model, self.model.today, self.market
        users = model.spec.users
        rand = self.random.random
        leaving = []
        for f in model.firms_here[m]:
            if self.following[f]:
                p_unfollow = unfollow_probability(
                    users.unfollow_base,
                    users.unfollow_per_fatigue,
                    self.excess_posts.get(f, 0.0),
                    users.unfollow_per_negative_attitude,
                    self.attitude[f],
                    today.retention[f],
                )
                if rand() < p_unfollow:
                    leaving.append(f)
        joining = []
        for f, consumed in self.consumed.items():
            if consumed and not self.following[f]:
                p_follow = follow_probability(
                    users,
                    today.transactional_share[f][m],
                    self.transactional_motive,
                    today.relational_share[f][m],
                    self.relational_motive,
                    self.sns_dependency,
                    self.attitude[f],
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
        users, tally = model.spec.users, model.tally
        value = model.markets[m].purchase_value
        bought = []
        for f, consumed in self.consumed.items():
            if not consumed:
                continue
            attitude = self.attitude[f]
            p_buy = purchase_probability(
                users.purchase_intent_base,
                today.content_multiplier[f][m],
                attitude,
                model.spec.crm.conversion_effect,
                today.crm[f],
                today.checkout[f][m],
            )
            if self.random.random() < p_buy:
                bought.append(f)
                tally["conversions"][f][m] += 1
                tally["revenue"][f][m] += value
                if not self.customer[f]:
                    tally["new_customers"][f][m] += 1
                self.customer[f] = True
                quality = model.firm_by_index[f].product_quality
                self.attitude[f] = toward(attitude, quality, users.experience_weight)
        for f in bought:
            if f in self.referred:
                # The referring partner's favour.
                margin = model.firm_by_index[f].gross_margin
                model.benefit[self.referred[f]][f] += referral_value(value, margin)
        self.expressed = {f for f, engaged in self.engaged.items() if engaged}
        self.expressed.update(bought)
        if self.expressed:
            model.speakers_tomorrow.append(self)
