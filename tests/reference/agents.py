"""Users as Mesa agents: the user side of the agent-per-user reference.

Every user is a :class:`UserAgent` that holds its traits and, per firm, whether it
is aware of the firm, follows it, its attitude toward it and whether it is a
current customer (plain lists indexed by firm), and the number of brand accounts it
follows on the platform (scenario brands and others), which dilutes the reach of
each brand's posts to it. The model steps all users through each phase with
``AgentSet.do``, as the Mesa examples do. Each method is one phase of
:mod:`sim.model` for one user: it evaluates the mechanism modules' equations on
this user's numbers (Python floats), draws the outcomes with the model's
``random`` (Python's generator, seeded from the model's seed) and adds them to
the model's tallies per (firm, market). Counts are of simulated users; money is
per real person (each simulated user stands for the market's ``people_per_user``).

What users know of their ties is pushed to them rather than looked up: a user who
becomes aware of a firm adds one to each tie's count of aware strong or weak ties
(:meth:`UserAgent.become_aware`), and the few users who expressed an opinion
yesterday tell each tie their attitude at dawn (:meth:`UserAgent.speak`, into the
tie's inbox: per firm, how many ties expressed an opinion, the sum of their
attitudes and the chance that none of them shares the firm's post). Nobody scans
its ties every day.

A phase only changes the user's own state and reads what its ties did on earlier
days or phases (their opinions arrive in ``speak`` before anyone's attitude changes;
the aware-tie counts change only in ``become_aware``, after everyone's word of mouth
was drawn), so the order in which users are stepped does not matter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.attitude import after_the_day, excess_posts, toward
from sim.model.benefits import referral_value
from sim.model.elementwise import clip
from sim.model.engagement import (
    attention_share,
    consume_probability,
    content_fit,
    engage_probability,
)
from sim.model.exposure import attention
from sim.model.following import (
    annoyance,
    follow_probability,
    reach_dilution,
    unfollow_probability,
    with_switching,
)
from sim.model.purchase import (
    ages_at_start,
    brand_appeal,
    experience,
    readiness,
    visit_probability,
)
from sim.model.users import beta_parameters, switching_propensity

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
        # Time online relative to the market's mean user (attention grows with dependency).
        base = model.spec.users.attention_base
        self.relative_attention = attention(base, self.sns_dependency) / attention(
            base, spec.dependency_mean
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
        # Per firm: ties who expressed an opinion yesterday, the sum of their attitudes
        # at dawn and the chance that none of them shares the firm's post, as the
        # speakers send them (read as heard_* today).
        self.inbox_count = [0] * n_firms
        self.inbox_sum = [0.0] * n_firms
        self.inbox_unshared = [1.0] * n_firms
        self.inbox_any = False
        self._seed_relationships()
        # Brand accounts followed on the platform: others (Poisson with the market's
        # mean) and the scenario's; they set the share of a followed brand's posts seen.
        others = int(model.rng.poisson(spec.brands_followed_mean))
        self.brands_followed = others + sum(self.following)
        self.organic_seen = 0.0
        self.update_reach()
        # Day of the last purchase in the category: before the run, at the stationary
        # age of the needs' renewal process.
        cycle = np.array([spec.purchase_cycle])
        self.last_purchase = -float(ages_at_start(model.rng, cycle)[0])
        # Propensity to switch brand accounts (mean 1): multiplies the odds of following
        # and the probability of leaving.
        self.switching = float(
            switching_propensity(model.spec.users.switching_dispersion, self.random.random())
        )

        # Today's encounters, by firm; set in expose and read by the later phases.
        self.seen: dict[int, int] = {}  # items seen (posts, ads, shares, referrals)
        self.own_posts: dict[int, int] = {}  # of which the firm's own posts, as a follower
        self.referred: dict[int, int] = {}  # firm -> the partner that referred the user
        self.heard_count = self.inbox_count  # today's inbox; read if heard_any
        self.heard_sum = self.inbox_sum
        self.heard_unshared = self.inbox_unshared
        self.heard_any = False
        self.newly_aware: list[int] = []
        self.fit: dict[int, float] = {}
        self.consumed: dict[int, int] = {}
        self.engaged: dict[int, int] = {}
        self.commented: set[int] = set()
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

    def update_reach(self) -> None:
        """The share of a followed brand's posts this user sees: the market's organic
        reach x relative attention x the dilution by the brands it follows, at most 1."""
        model, m = self.model, self.market
        dilution = reach_dilution(
            model.spec.users.attention_slots,
            model.brands_followed_mean[m],
            self.brands_followed,
        )
        reach = model.markets[m].organic_reach * self.relative_attention * dilution
        self.organic_seen = min(1.0, reach)

    # ------------------------------------------------------------------ phase 2
    def expose(self) -> None:
        """What this user sees from each firm today: own posts, ads, shares, referrals."""
        model, today, m = self.model, self.model.today, self.market
        tally = model.tally
        rand = self.random.random
        binomial = self.random.binomialvariate
        self.seen, self.own_posts, self.referred, self.newly_aware = {}, {}, {}, []
        heard_any = self.heard_any = self.inbox_any
        if heard_any:  # today's opinions are the inbox; a fresh inbox for tomorrow's
            self.heard_count, self.heard_sum = self.inbox_count, self.inbox_sum
            self.heard_unshared = self.inbox_unshared
            n_firms = model.n_firms
            self.inbox_count, self.inbox_sum = [0] * n_firms, [0.0] * n_firms
            self.inbox_unshared = [1.0] * n_firms
            self.inbox_any = False
        unshared = self.heard_unshared
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
                # Each tie that expressed an opinion yesterday shared the post with its
                # market's share chance: at least one did with 1 - prod(1 - chance).
                shared = heard_any and unshared[f] < 1.0 and rand() >= unshared[f]
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
        impression is booked as the receiver's benefit at the market's CPM per real
        person reached.
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
                model.benefit[giver][f] += model.today.impression_value[m]

    def _referrer(self, f: int) -> int | None:
        """The partner of firm f (if any) that refers this customer of its own to f today."""
        for giver, chance in self.model.today.referrers[f]:
            if self.customer[giver] and self.random.random() < chance:
                return giver
        return None

    def speak(self) -> None:
        """Tell every tie this user's attitude toward each firm it expressed an opinion on,
        and pass the firm's post on with the share chance of this user's market.

        Called at dawn for the users who engaged or bought yesterday; each tie finds
        the count, sum and chance of no share in its ``inbox`` when it is exposed today.
        """
        chances = self.model.today.share_chance
        m = self.market
        opinions = [(f, self.attitude[f], 1.0 - chances[f][m]) for f in self.expressed]
        for tie in self.ties:
            count, total, unshared = tie.inbox_count, tie.inbox_sum, tie.inbox_unshared
            for f, attitude, missed in opinions:
                count[f] += 1
                total[f] += attitude
                unshared[f] *= missed
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
        """Consume seen items (within today's attention) and engage with consumed ones
        (Zhang 2025's behaviours); a share of engagements are comments."""
        model, today, m = self.model, self.model.today, self.market
        users, crm = model.spec.users, model.spec.crm
        tally = model.tally
        binomial = self.random.binomialvariate
        dependency = self.sns_dependency
        self.fit, self.consumed, self.engaged, self.commented = {}, {}, {}, set()
        if not self.seen:
            return
        # Brand items seen today over all brands share the user's attention.
        attending = float(attention_share(users.attention_capacity, sum(self.seen.values())))
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
            p_consume = consume_probability(users, dependency, fit, attitude, attending)
            consumed = binomial(items, p_consume)
            engaged = 0
            if consumed:
                p_engage = engage_probability(
                    users,
                    dependency,
                    self.relational_motive,
                    fit,
                    attitude,
                    model.collectivism[m],
                    today.entertaining_share[f][m],
                    model.engagement_offset[m],
                    self.switching,
                )
                engaged = binomial(consumed, p_engage)
                tally["consumed"][f][m] += consumed
                tally["consumers"][f][m] += 1
                if engaged:
                    tally["engagements"][f][m] += engaged
                    tally["engagers"][f][m] += 1
                    comments = binomial(engaged, users.comment_share)
                    if comments:
                        tally["comments"][f][m] += comments
                        self.commented.add(f)
            self.fit[f] = fit
            self.consumed[f] = consumed
            self.engaged[f] = engaged

    # ------------------------------------------------------------------ phase 4
    def receive_answers(self) -> None:
        """The firm answers this user's comments with its answer share, or ignores them."""
        model, m = self.model, self.market
        self.answered, self.ignored = set(), set()
        for f in self.commented:
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
        """Follow firms whose content was consumed (less when following many brands);
        leave others: base rate, over-posting, promotions, irrelevant content, dislike.
        Each unfollow is booked over its causes in proportion to their parts."""
        model, today, m = self.model, self.model.today, self.market
        users = model.spec.users
        rand = self.random.random
        tally = model.tally
        leaving = []
        for f in model.firms_here[m]:
            if not self.following[f]:
                continue
            overposting = promotion = irrelevance = 0.0
            own = self.own_posts.get(f, 0)
            if f in self.seen:
                overposting = annoyance(users, self.excess_posts[f], 0, 0.0, 1.0)
                promotion = annoyance(users, 0.0, own, today.promotional_share[f][m], 1.0)
                irrelevance = annoyance(users, 0.0, own, 0.0, self.fit[f])
            annoyed = overposting + promotion + irrelevance
            attitude = self.attitude[f]
            p_unfollow = unfollow_probability(
                users.unfollow_base,
                1.0,
                annoyed,
                users.unfollow_per_negative_attitude,
                attitude,
                today.retention[f],
                self.switching,
            )
            if rand() < p_unfollow:
                leaving.append(f)
                parts = {
                    "base": users.unfollow_base,
                    "overposting": overposting,
                    "promotion": promotion,
                    "irrelevance": irrelevance,
                    "attitude": users.unfollow_per_negative_attitude * max(0.0, -attitude),
                }
                total = max(sum(parts.values()), 1e-300)
                for cause, part in parts.items():
                    tally[f"unfollows_{cause}"][f][m] += part / total
        joining = []
        above_mean = self.brands_followed - model.brands_followed_mean[m]
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
                    above_mean,
                    self.switching,
                )
                if rand() < p_follow:
                    joining.append(f)
        for f in leaving:
            self.following[f] = False
            tally["unfollows"][f][m] += 1
        for f in joining:
            self.following[f] = True
            tally["new_followers"][f][m] += 1
        if leaving or joining:
            self.brands_followed += len(joining) - len(leaving)
            self.update_reach()

    # ------------------------------------------------------------------ phase 7
    def choice_probabilities(self) -> list[float]:
        """P(choosing each scenario brand) when in the market for the category: the
        appeal of each known brand (:func:`sim.model.purchase.brand_appeal`) against
        the sum of the known brands' and the other brands' appeal."""
        model, m = self.model, self.market
        users = model.spec.users
        appeal = [0.0] * model.n_firms
        for f in model.firms_here[m]:
            if self.aware[f]:
                appeal[f] = float(
                    brand_appeal(
                        users.choice_per_attitude,
                        self.attitude[f],
                        users.choice_per_loyalty,
                        self.customer[f],
                    )
                )
        total = model.markets[m].other_brands_appeal + sum(appeal)
        return [a / total for a in appeal]

    def choose_in_category(self, ready: float) -> int | None:
        """In the market for the category today (a need come back: hazard 2 / cycle x
        readiness)? Then the brand chosen (-1: another brand's); None when not."""
        if self.random.random() >= self.model.need_hazard[self.market] * ready:
            return None
        draw = self.random.random()
        cumulative = 0.0
        for f, p in enumerate(self.choice_probabilities()):
            cumulative += p
            if p > 0.0 and draw < cumulative:
                return f
        return -1

    def purchase(self) -> None:
        """Social purchases after consuming content (a shop visit, then the checkout)
        and a category purchase by choice, both when the need has come back; the buyer
        becomes a current customer, its experience moves its attitude, and it may
        follow the brand. Opinions are expressed tomorrow."""
        model, today, m = self.model, self.model.today, self.market
        users, tally = model.spec.users, model.tally
        rand = self.random.random
        ready = readiness(model.steps - self.last_purchase, model.markets[m].purchase_cycle)
        social = []
        for f, consumed in self.consumed.items():
            if not consumed:
                continue
            p_visit = ready * visit_probability(
                users.purchase_intent_base,
                today.content_multiplier[f][m],
                self.attitude[f],
                model.spec.crm.conversion_effect,
                today.crm[f],
            )
            if rand() < p_visit:
                tally["shop_visits"][f][m] += 1
                if rand() < today.checkout[f][m]:
                    social.append(f)
        chosen = self.choose_in_category(ready)
        bought = social + ([chosen] if chosen is not None and chosen >= 0 else [])
        model.market_purchases[m] += len(social) + (chosen is not None)
        if social or chosen is not None:
            self.last_purchase = model.steps
        if chosen is not None or bought:
            # A purchase in the category ends the custom with every brand of the market;
            # the brands bought today are the current ones.
            was_customer = self.customer
            self.customer = [False] * model.n_firms
            for f in bought:
                if not was_customer[f] and not self.customer[f]:
                    tally["new_customers"][f][m] += 1
                self.customer[f] = True
        people = model.people_per_user[m]
        for k, f in enumerate(bought):
            firm = model.firm_by_index[f]
            revenue = people * firm.price
            tally["conversions"][f][m] += 1
            tally["revenue"][f][m] += revenue
            if k < len(social):
                tally["social_purchases"][f][m] += 1
                if today.shop[f][m]:
                    tally["commission"][f][m] += revenue * model.markets[m].shop_commission
                if f in self.referred:
                    # The referring partner's favour.
                    model.benefit[self.referred[f]][f] += referral_value(revenue, firm.gross_margin)
            else:
                tally["category_purchases"][f][m] += 1
        distinct = list(dict.fromkeys(bought))
        for f in distinct:
            # Experience: the attitude moves toward what the buyer made of the product.
            current = self.attitude[f]
            felt = experience(
                model.firm_by_index[f].product_quality, current, users.expectation_weight
            )
            self.attitude[f] = toward(current, felt, users.experience_weight)
        joined = 0
        for f in distinct:
            p_follow = with_switching(users.follow_after_purchase, self.switching)
            if not self.following[f] and rand() < p_follow:
                self.following[f] = True
                tally["new_followers"][f][m] += 1
                joined += 1
        if joined:
            self.brands_followed += joined
            self.update_reach()
        self.expressed = {f for f, engaged in self.engaged.items() if engaged}
        self.expressed.update(distinct)
        if self.expressed:
            model.speakers_tomorrow.append(self)
