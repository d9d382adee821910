"""Sweep files: designs, seeds and the one-line errors of bad input (no model runs)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.cli import main
from sim.errors import GuanxiError
from sim.sweep.plan import run_seed
from sim.sweep.spec import SweepError, load_sweep
from tests.sweep_support import TINY_SWEEP, write_sweep

HEADER = """
[sweep]
scenario = "baseline"
seed = 3
"""


def sweep_text(design: str, *parameters: str, header: str = HEADER) -> str:
    blocks = [f"[[parameters]]\n{p}\n" for p in parameters]
    return "\n".join([header, f"[design]\n{design}\n", *blocks])


def plan_of(tmp_path, text: str):
    return load_sweep(write_sweep(tmp_path, text, name="s.toml"))


def test_bundled_sweeps_resolve():
    grid = load_sweep("strategy_grid")
    assert grid.method == "grid"
    assert len(grid.points) == 3 * 2 * 2 * 2
    assert grid.n_runs == 24 * 5
    assert grid.base.model.n_users == 5000  # [sweep.fixed]
    assert grid.parameters[-1] == "firms.ours.seeks_partners"
    sobol = load_sweep("sensitivity")
    assert sobol.method == "sobol"
    assert len(sobol.points) == 64 * (2 * 5 + 2)
    assert sobol.problem["names"][0] == "markets.china.dependency_mean"


def test_grid_is_full_factorial_with_ranges_and_booleans(tmp_path):
    plan = plan_of(
        tmp_path,
        sweep_text(
            'method = "grid"',
            'path = "firms.ours.strategies.china.responsiveness"\nlow = 0.2\nhigh = 0.6\nlevels = 3',
            'path = "guanxi.max_partners"\nlow = 1\nhigh = 2\nlevels = 4',  # whole numbers
            'path = "guanxi.enabled"',  # true/false with no values: both
        ),
    )
    assert plan.factors[1].values == (1, 2)
    assert plan.factors[2].values == (False, True)
    assert len(plan.points) == 3 * 2 * 2
    assert plan.points[0] == (0.2, 1, False)
    assert plan.points[-1] == (0.6, 2, True)
    assert plan.point_parameters(1) == {
        "firms.ours.strategies.china.responsiveness": 0.2,
        "guanxi.max_partners": 1,
        "guanxi.enabled": True,
    }


@pytest.mark.parametrize(
    ("design", "n_points"),
    [
        ('method = "lhs"\nsamples = 20', 20),
        ('method = "sobol"\nsamples = 8', 8 * (2 * 3 + 2)),
        ('method = "sobol"\nsamples = 8\nsecond_order = false', 8 * (3 + 2)),
        ('method = "morris"\nsamples = 5\nlevels = 4', 5 * (3 + 1)),
    ],
)
def test_samplers_respect_ranges_types_and_seed(tmp_path, design, n_points):
    parameters = (
        'path = "markets.china.dependency_mean"\nlow = 0.5\nhigh = 0.8',
        'path = "guanxi.max_partners"\nlow = 1\nhigh = 6',
        'path = "markets.china.preset"\nvalues = ["china", "none"]',
    )
    plan = plan_of(tmp_path, sweep_text(design, *parameters))
    assert len(plan.points) == n_points
    dependency, partners, preset = zip(*plan.points, strict=True)
    assert all(0.5 <= d <= 0.8 for d in dependency)
    assert all(isinstance(p, int) and 1 <= p <= 6 for p in partners)
    assert set(preset) <= {"china", "none"}
    assert plan.sample.shape == (n_points, 3)
    again = plan_of(tmp_path, sweep_text(design, *parameters))
    assert again.points == plan.points  # the design derives from the sweep seed
    other = plan_of(
        tmp_path, sweep_text(design, *parameters, header=HEADER.replace("seed = 3", "seed = 4"))
    )
    assert other.points != plan.points


def test_normal_distribution_is_truncated_to_the_parameter_bounds(tmp_path):
    plan = plan_of(
        tmp_path,
        sweep_text(
            'method = "lhs"\nsamples = 200',
            'path = "markets.china.organic_reach"\ndistribution = "normal"\nmean = 0.05\nsd = 0.2',
        ),
    )
    reach = np.array([p[0] for p in plan.points])
    assert reach.min() >= 0 and reach.max() <= 1
    assert 0.1 < np.median(reach) < 0.3  # truncation at 0 pushes the median above the mean


def test_run_seeds_derive_from_sweep_seed_point_and_replication():
    seeds = {run_seed(7, point, rep) for point in range(20) for rep in range(5)}
    assert len(seeds) == 100
    assert all(0 <= s < 2**63 for s in seeds)
    assert run_seed(7, 3, 1) == run_seed(7, 3, 1)
    assert run_seed(8, 3, 1) != run_seed(7, 3, 1)
    # Common random numbers: replication r starts alike at every point.
    assert run_seed(7, 0, 1, common=True) == run_seed(7, 9, 1, common=True)
    assert run_seed(7, 0, 1, common=True) != run_seed(7, 0, 2, common=True)


def test_run_seeds_are_the_documented_spawn_keys():
    # docs/sweeps.md: spawn key (0, point, replication), (1, r) with common random
    # numbers; sweep directories record these seeds, and --resume checks them.
    def documented(seed, *key):
        state = np.random.SeedSequence(seed, spawn_key=key).generate_state(1, np.uint64)[0]
        return int(state >> np.uint64(1))

    assert run_seed(7, 3, 1) == documented(7, 0, 3, 1)
    assert run_seed(7, 3, 1, common=True) == documented(7, 1, 1)


def test_run_numbering_and_seeds_do_not_depend_on_the_design_size(tmp_path):
    small = load_sweep(write_sweep(tmp_path))
    runs = list(small.runs())
    assert [r.run for r in runs] == list(range(8))
    assert [(r.point, r.replication) for r in runs[:3]] == [(0, 0), (0, 1), (1, 0)]
    assert runs[3].seed == run_seed(7, 1, 1)


PARAM = 'path = "firms.ours.strategies.china.posts_per_day"\nvalues = [1.0, 2.0]'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[sweep\n", "malformed TOML"),
        ("", "file is empty"),
        (sweep_text('method = "grid"', PARAM) + "\n[extra]\nx = 1\n", "unknown key 'extra'"),
        (
            sweep_text('method = "grid"', PARAM).replace("seed = 3", "seed = 3\nreplicatons = 2"),
            "unknown key 'sweep.replicatons'; did you mean 'replications'?",
        ),
        (
            sweep_text('method = "grid"', PARAM).replace("seed = 3", "seed = -1"),
            "sweep.seed: Input should be greater than or equal to 0",
        ),
        (
            sweep_text('method = "factorial"', PARAM),
            "design.method: Input should be 'grid', 'lhs', 'sobol' or 'morris'",
        ),
        (
            sweep_text('method = "grid"', 'path = "firms.ours.strategies.china.posts_per_dy"'),
            "parameters.firms.ours.strategies.china.posts_per_dy: unknown key 'posts_per_dy' "
            "in firms.ours.strategies.china; did you mean 'posts_per_day'?",
        ),
        (
            sweep_text('method = "grid"', 'path = "markets.japan.organic_reach"\nvalues = [0.1]'),
            "no markets item with name 'japan'; allowed: china, western_europe",
        ),
        (
            sweep_text('method = "grid"', 'path = "guanxi.max_partners"\nvalues = []'),
            "parameters.guanxi.max_partners.values: List should have at least 1 item",
        ),
        (
            sweep_text(
                'method = "grid"', 'path = "guanxi.max_partners"\nlow = 5\nhigh = 2\nlevels = 3'
            ),
            "parameters.guanxi.max_partners: empty range: low 5 must be below high 2",
        ),
        (
            sweep_text(
                'method = "grid"',
                'path = "firms.ours.strategies.china.posts_per_day"\nvalues = [60]',
            ),
            "posts_per_day.values: 60 out of bounds; allowed: >= 0 and <= 50",
        ),
        (
            sweep_text('method = "grid"', 'path = "markets.china.dependency_mean"\nvalues = [1.0]'),
            "dependency_mean.values: 1 out of bounds; allowed: > 0 and < 1",
        ),
        (
            sweep_text('method = "grid"', 'path = "guanxi.enabled"\nlow = 0\nhigh = 1'),
            "parameters.guanxi.enabled: not a number; give values, allowed: false, true",
        ),
        (
            sweep_text('method = "grid"', 'path = "markets.china.preset"\nvalues = ["mars"]'),
            "preset.values: 'mars' not allowed; allowed: 'china', 'western_europe'",
        ),
        (
            sweep_text('method = "grid"', 'path = "guanxi.max_partners"\nlow = 1\nhigh = 4'),
            "a grid over low..high needs levels",
        ),
        (
            sweep_text('method = "grid"\nsamples = 8', PARAM),
            "design.samples: not used by method 'grid' (only by lhs, sobol, morris)",
        ),
        (
            sweep_text(
                'method = "sobol"\nsamples = 10', PARAM, PARAM.replace("china", "western_europe")
            ),
            "design.samples: 10 for Saltelli's Sobol design must be a power of 2 (e.g. 8 or 16)",
        ),
        (
            sweep_text('method = "sobol"\nsamples = 8', PARAM),
            "design.second_order: needs at least 2 parameters; set false",
        ),
        (
            sweep_text('method = "lhs"', PARAM),
            "design.samples: method 'lhs' needs samples (points)",
        ),
        (
            sweep_text('method = "morris"\nsamples = 4\nlevels = 3', PARAM),
            "design.levels: 3 for Morris must be even",
        ),
        (
            sweep_text(
                'method = "lhs"\nsamples = 4',
                'path = "guanxi.max_partners"\nlow = 1\nhigh = 4\nlevels = 3',
            ),
            "parameters.guanxi.max_partners.levels: only for design method 'grid'",
        ),
        (
            sweep_text(
                'method = "grid"',
                'path = "guanxi.upkeep_cost"\ndistribution = "normal"\nmean = 5\nsd = 1\nlow = 0\nhigh = 9',
            ),
            "distribution: 'normal' is for designs lhs, sobol, morris",
        ),
        (
            sweep_text('method = "grid"', PARAM, PARAM),
            "parameters: 'firms.ours.strategies.china.posts_per_day' is listed twice",
        ),
        (
            sweep_text('method = "grid"', PARAM, header="[sweep]\nseed = 1\n"),
            "sweep.scenario: missing; name a bundled scenario",
        ),
        (
            sweep_text('method = "grid"', PARAM).replace(
                "seed = 3", 'seed = 3\noutcomes = ["atitude"]'
            ),
            "sweep.outcomes: unknown outcome 'atitude'; did you mean 'attitude'?",
        ),
        (
            sweep_text('method = "grid"', PARAM) + '\n[sweep.fixed]\n"model.n_user" = 5\n',
            "sweep.fixed.model.n_user: unknown key 'n_user' in model; did you mean 'n_users'?",
        ),
    ],
)
def test_bad_sweep_files_fail_with_one_line(tmp_path, text, expected):
    path = write_sweep(tmp_path, text, name="bad.toml")
    with pytest.raises(SweepError) as caught:
        load_sweep(path)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(str(path))
    assert "\n" not in message


def test_bad_base_scenario_values_name_the_key(tmp_path):
    path = write_sweep(tmp_path, TINY_SWEEP.replace('"model.n_users" = 300', '"model.n_users" = 5'))
    with pytest.raises(GuanxiError) as caught:
        load_sweep(path)
    assert "model.n_users: Input should be greater than or equal to 10 (got 5)" in str(caught.value)


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    path = write_sweep(tmp_path, sweep_text('method = "grid"', 'path = "guanxi.nope"'))
    code = main(["sweep", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("guanxi: error: ")
    assert "parameters.guanxi.nope: unknown key 'nope' in guanxi" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing created for a refused sweep


def test_cli_refuses_a_bad_scheduler_address(tmp_path, capsys):
    code = main(
        [
            "sweep",
            str(write_sweep(tmp_path)),
            "--scheduler",
            "nowhere",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert (
        "--scheduler nowhere: expected 'local' or a scheduler address like tcp://HOST:8786" in err
    )


INLINE = """
[sweep]
seed = 1

[[parameters]]
path = "firms.solo.strategies.home.posts_per_day"
values = [1.0, 3.0]

[scenario.model]
n_users = 100

[[scenario.markets]]
name = "home"

[[scenario.firms]]
name = "solo"
home_market = "home"

  [[scenario.firms.strategies]]
  market = "home"
"""


def test_inline_base_scenario(tmp_path):
    plan = plan_of(tmp_path, INLINE)
    assert plan.base.model.n_users == 100
    assert plan.points == ((1.0,), (3.0,))
    assert "home.attitude" in plan.outcomes
    both = INLINE.replace("seed = 1", 'seed = 1\nscenario = "baseline"')
    with pytest.raises(SweepError, match="sweep.scenario and an inline \\[scenario\\] table both"):
        plan_of(tmp_path, both)
