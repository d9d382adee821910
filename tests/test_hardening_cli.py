"""Hardening of `guanxi run`, `guanxi compare` and scenario input against bad input.

Each case is one the command used to get wrong: markup in user text, `run --out`
mixing two runs or writing half a run, a full disk, models or files too large for
the machine, FIFOs, deep nesting, tracebacks, and values quietly converted. The
promise: one line on stderr naming the file or key and what is allowed, exit code 2
(1 for an internal error), no traceback, nothing already computed lost.

Subprocesses run with their address space capped (:data:`ADDRESS_SPACE`), so a case
that would allocate too much fails fast instead of taking the machine's memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim.cli
import sim.outputs
import sim.runner
import sim.scenario
from sim.cli import main
from sim.parameters import bounds, field_info, parse_assignment
from sim.scenario import ScenarioError, load_scenario, read_scenario_file
from sim.sweep.spec import load_sweep

REPO = Path(__file__).resolve().parent.parent
SMALL = ("--set", "model.n_users=600")
ADDRESS_SPACE = 4 * 2**30


def guanxi(*args: str, cwd: Path | None = None, env: dict | None = None, fsize: int | None = None):
    """Run the real command in a subprocess, its memory (and file size) capped."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        preexec_fn=limits,
    )


def one_line_error(result, code: int = 2) -> str:
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def run_dir_seed(folder: Path) -> int:
    return json.loads((folder / "summary.json").read_text())["seed"]


# ---------------------------------------------------------------------- 1. markup
def test_brackets_in_a_name_and_in_out_are_printed_as_text_and_the_run_is_written(tmp_path):
    out = tmp_path / "D[/x]"
    result = guanxi(
        "run", "baseline", "--steps", "3", *SMALL,
        "--set", "model.name=Q3 plan [/draft] :smile:", "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Q3 plan [/draft] :smile:: 3 days" in result.stdout
    assert f"wrote 6 files to {out}" in result.stdout
    assert run_dir_seed(out) == 42


def test_brackets_in_compare_overrides_are_printed_as_text(capsys):
    args = ["compare", "baseline", "--reps", "1", "--steps", "2", *SMALL]
    assert main([*args, "--a", "model.name=[/x] [bold]"]) == 0
    assert "A: model.name=[/x] [bold]" in capsys.readouterr().out


def test_the_shared_console_reads_no_markup(capsys):
    # The console of run, compare, scenarios and the sweep commands (the end of a sweep).
    sim.cli.get_console().print("sweep [/draft] [red]x :smile:")
    assert capsys.readouterr().out.strip() == "sweep [/draft] [red]x :smile:"


def test_the_progress_bar_shows_a_bracketed_scenario_name():
    spec = load_scenario("baseline", ["model.n_users=600", "model.name=Q3 [/draft]"])
    model = sim.runner.run_with_progress(spec, 2, 1, show=True)
    assert model.steps == 2


# ---------------------------------------------------------------------- 2. run --out
def run_into(out: Path, seed: int, *extra: str) -> int:
    return main(
        ["run", "baseline", "--steps", "3", "--seed", str(seed), *SMALL, "--out", str(out), *extra]
    )


def test_a_second_run_into_the_same_directory_needs_overwrite_and_replaces_it_whole(
    tmp_path, capsys
):
    out = tmp_path / "D"
    assert run_into(out, 1, "--plot") == 0
    assert any(p.suffix == ".png" for p in out.iterdir())
    capsys.readouterr()

    assert run_into(out, 2) == 2
    err = capsys.readouterr().err
    assert "holds a previous run (seed 1)" in err and "--overwrite" in err
    assert run_dir_seed(out) == 1  # left as it was

    assert run_into(out, 2, "--overwrite") == 0
    assert run_dir_seed(out) == 2
    assert sorted(p.name for p in out.iterdir()) == sorted(sim.outputs.RUN_FILES)  # no old PNGs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]  # no staging left beside it


def test_overwrite_never_replaces_a_directory_that_is_not_a_run(tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "plan.txt").write_text("mine")
    assert run_into(out, 1, "--overwrite") == 2
    assert "not empty and not a guanxi run (plan.txt)" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["plan.txt"]


def test_an_empty_out_path_is_refused_and_nothing_is_written_here(tmp_path):
    line = one_line_error(
        guanxi("run", "baseline", "--steps", "2", *SMALL, "--out", "", cwd=tmp_path)
    )
    assert "--out" in line and "empty path" in line
    assert list(tmp_path.iterdir()) == []


def test_a_failed_swap_keeps_the_previous_run_whole(tmp_path, capsys, monkeypatch):
    out = tmp_path / "D"
    assert run_into(out, 1) == 0
    capsys.readouterr()
    # As if the system could not swap in one step and the second rename failed
    # (or the process died between the two renames): never two runs' files in D.
    real_rename = os.rename
    monkeypatch.setattr(sim.outputs, "_exchange", lambda a, b: False)

    def rename(src, dst):
        if Path(src).name.endswith(".tmp"):
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(sim.outputs.os, "rename", rename)
    assert run_into(out, 2, "--overwrite") == 2
    err = capsys.readouterr().err
    assert "cannot move the run into place" in err and "this run's files are in" in err
    assert run_dir_seed(out) == 1
    assert sorted(p.name for p in out.iterdir()) == sorted(sim.outputs.RUN_FILES)


# ---------------------------------------------------------------------- 4. disk full
def test_a_full_disk_names_the_file_says_how_to_resume_and_leaves_no_directory(tmp_path):
    # RLIMIT_FSIZE makes the writes fail as a full disk does (EFBIG instead of ENOSPC).
    out = tmp_path / "runs" / "D"
    result = guanxi("run", "baseline", "--steps", "20", *SMALL, "--out", str(out), fsize=8000)
    line = one_line_error(result)
    assert f"--out {out}: cannot write" in line and ".parquet: File too large [errno 27]" in line
    assert "run again" in line
    assert list(tmp_path.iterdir()) == []  # no partial run, no staging, no parent made


def test_no_space_left_in_the_parquet_writer_is_one_line_with_the_path(
    tmp_path, capsys, monkeypatch
):
    real = pd.DataFrame.to_parquet
    calls = []

    def to_parquet(frame, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # pyarrow's wording: the errno in the text only
            raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    out = tmp_path / "D"
    assert run_into(out, 1) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "cannot write firm_market.parquet: No space left on device [errno 28]" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- 6. sizes
def test_a_model_larger_than_memory_is_refused_before_allocating():
    result = guanxi(
        "run", "baseline", "--set", "model.n_users=50000000",
        "--set", "network.strong_ties=100", "--set", "network.weak_ties=100",
    )  # fmt: skip
    line = one_line_error(result)
    assert "model.n_users: 50,000,000 users" in line and "allowed here: model.n_users <=" in line


def test_the_memory_limit_variable_caps_what_a_run_may_use():
    result = guanxi(
        "run", "baseline", "--set", "model.n_users=50000000", env={"GUANXI_MEMORY_LIMIT": "2G"}
    )
    line = one_line_error(result)
    assert "2.0 GB is available" in line and "model.n_users <= about" in line


def test_compare_checks_the_memory_of_its_variants(capsys, monkeypatch):
    monkeypatch.setenv("GUANXI_MEMORY_LIMIT", "100M")
    args = ["compare", "baseline", "--reps", "1", "--steps", "2", *SMALL]
    assert main([*args, "--b", "model.n_users=2000000"]) == 2
    assert "model.n_users: 2,000,000 users" in capsys.readouterr().err


def test_memory_estimate_grows_with_users_firms_ties_and_days():
    small = load_scenario("baseline", ["model.n_users=1000"])
    big = load_scenario("baseline", ["model.n_users=1000000"])
    tied = load_scenario("baseline", ["model.n_users=1000000", "network.weak_ties=100"])
    assert sim.resources.model_memory(big, 10)[0] == 1000 * sim.resources.model_memory(small, 10)[0]
    assert sim.resources.model_memory(tied, 10)[0] > sim.resources.model_memory(big, 10)[0]
    assert sim.resources.model_memory(small, 1000)[1] > sim.resources.model_memory(small, 10)[1]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "baseline", "--steps", "100001"], "expected a whole number 1..100000"),
        (["compare", "baseline", "--steps", "100001"], "expected a whole number 1..100000"),
        (["compare", "baseline", "--reps", "100000000"], "expected a whole number 1..100000"),
    ],
)
def test_steps_and_reps_are_bounded_on_the_command_line(args, expected, capsys):
    with pytest.raises(SystemExit) as exit_:
        sim.cli.build_parser().parse_args(args)
    assert exit_.value.code == 2 and expected in capsys.readouterr().err


def test_an_empty_ui_host_is_refused_not_bound_to_every_interface(capsys):
    with pytest.raises(SystemExit) as exit_:
        sim.cli.build_parser().parse_args(["ui", "--host", ""])
    assert exit_.value.code == 2 and "--host: expected an address" in capsys.readouterr().err


def test_the_steps_bound_is_the_schemas():
    assert bounds(field_info("model.steps")).upper == sim.cli.MAX_STEPS


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    line = one_line_error(guanxi("run", str(fifo)))
    assert (
        line == f"guanxi: error: {fifo}: not a regular file (a FIFO); expected a TOML scenario file"
    )


def test_a_device_is_refused_without_reading_it():
    line = one_line_error(guanxi("run", "/dev/zero"))
    assert "/dev/zero: not a regular file (a character device)" in line


def test_a_huge_file_is_refused_by_its_size_before_reading(tmp_path):
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as file:
        file.truncate(20 * 2**30)  # sparse: takes no disk, would take 20 GB to read
    line = one_line_error(guanxi("run", str(huge)))
    assert "21,474,836,480 bytes; a TOML scenario file may be at most 1,000,000 bytes" in line


def test_a_file_that_grows_past_the_limit_is_read_no_further(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text("#" * 2_000_000)
    real_fstat = os.fstat
    monkeypatch.setattr(
        sim.scenario.os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 10, 0, 0, 0))
    )
    with pytest.raises(ScenarioError, match="more than 1,000,000 bytes"):
        read_scenario_file(path)


# ---------------------------------------------------------------------- 7. parsers
DEEP = "[" * 5000 + "]" * 5000


def test_a_deeply_nested_scenario_file_is_one_line(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text(f"a = {DEEP}\n")
    line = one_line_error(guanxi("run", str(path)))
    assert f"{path}: malformed TOML" in line and "nested too deeply" in line


@pytest.mark.parametrize("assignment", [f"model.name={DEEP}", f"model={{n_users={DEEP}}}"])
def test_a_deeply_nested_set_value_is_one_line(assignment):
    line = one_line_error(guanxi("run", "baseline", "--set", assignment))
    assert "--set model" in line and "nested more than 50 levels deep" in line


def test_a_deeply_nested_sweep_file_is_one_line(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text(f'[sweep]\nscenario = "baseline"\nx = {DEEP}\n')
    line = one_line_error(guanxi("sweep", str(path), "--out", str(tmp_path / "out")))
    assert f"{path}: malformed TOML" in line and "nested too deeply" in line


def test_a_sweep_file_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "sweep.toml"
    os.mkfifo(fifo)
    line = one_line_error(guanxi("sweep", str(fifo), "--out", str(tmp_path / "out")))
    assert f"{fifo}: not a regular file (a FIFO)" in line


def test_a_sweep_file_with_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    text = (REPO / "scenarios" / "sweeps" / "strategy_grid.toml").read_text()
    text = text.replace('scenario = "baseline"', f'scenario = "{REPO}/scenarios/baseline.toml"')
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert load_sweep(path).n_runs > 0


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (REPO / "scenarios" / "baseline.toml").read_bytes())
    assert load_scenario(path).model.name == "baseline"


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (
            RuntimeError("boom\nsecond line"),
            "guanxi: internal error: RuntimeError: boom second line",
            1,
        ),
        (
            RecursionError("maximum recursion depth exceeded"),
            "RecursionError: maximum recursion",
            1,
        ),
        (KeyError("x"), "guanxi: internal error: KeyError: 'x'", 1),
        (
            MemoryError("Unable to allocate 27.9 GiB"),
            "out of memory (Unable to allocate 27.9 GiB)",
            2,
        ),
    ],
)
def test_any_exception_is_one_line_without_traceback(error, expected, code, capsys, monkeypatch):
    def fail(args):
        raise error

    monkeypatch.delenv(sim.cli.DEBUG_VARIABLE, raising=False)
    monkeypatch.setattr(sim.cli, "cmd_scenarios", fail)
    assert main(["scenarios"]) == code
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_the_debug_variable_shows_the_traceback(monkeypatch):
    def fail(args):
        raise RuntimeError("boom")

    monkeypatch.setenv(sim.cli.DEBUG_VARIABLE, "1")
    monkeypatch.setattr(sim.cli, "cmd_scenarios", fail)
    with pytest.raises(RuntimeError, match="boom"):
        main(["scenarios"])


# ---------------------------------------------------------------------- strictness
@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("guanxi.enabled=yes", "--set guanxi.enabled=yes: expected true or false, got 'yes'"),
        (
            "model.n_users=true",
            "--set model.n_users=true: expected a whole number, got true; allowed: >= 10",
        ),
        ("model.seed=true", "--set model.seed=true: expected a whole number, got true"),
        ("model.n_users=2e3", "expected a whole number (write 2000)"),
        ("users.attention_base=false", "expected a number, got false; allowed: >= 0 and <= 5"),
        ("network.structure=1", "expected one of social, fully_mixed, got 1"),
    ],
)
def test_set_values_are_not_converted_between_types(assignment, expected):
    line = one_line_error(guanxi("run", "baseline", "--steps", "1", *SMALL, "--set", assignment))
    assert expected in line


def test_a_scenario_file_is_read_strictly(tmp_path):
    text = (REPO / "scenarios" / "baseline.toml").read_text()
    path = tmp_path / "s.toml"
    path.write_text(text.replace("[model]", '[guanxi]\nenabled = "yes"\n\n[model]', 1))
    with pytest.raises(ScenarioError, match="guanxi.enabled"):
        load_scenario(path)


def test_a_table_given_whole_keeps_the_keys_it_does_not_name():
    spec = load_scenario("baseline", ["model={n_users=200, seed=7}"])
    assert (spec.model.n_users, spec.model.seed) == (200, 7)
    assert spec.model.name == "baseline" and spec.model.steps == load_scenario().model.steps
    with pytest.raises(ScenarioError, match="unknown key 'n_user' in model"):
        load_scenario("baseline", ["model={n_user=200}"])
    with pytest.raises(ScenarioError, match="expected a whole number"):
        load_scenario("baseline", ["model={seed=true}"])


def test_an_unquoted_name_is_taken_as_written():
    assert parse_assignment("model.name=2024") == ("model.name", "2024")
    assert parse_assignment("model.name=Q3 plan [/draft]") == ("model.name", "Q3 plan [/draft]")
    assert parse_assignment('model.name="quoted"') == ("model.name", "quoted")


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (["--a", "model.focal_firm=euro_rival"], "the focal firm differs ('euro_rival' in A"),
        (
            ["--b", "model.steps=5"],
            "model.steps cannot be set per variant: both variants run the same days",
        ),
        (["--a", "model.seed=3", "--b", "model.seed=3"], "use --seed"),
    ],
)
def test_compare_refuses_variants_that_cannot_be_paired(variant, expected, capsys):
    args = ["compare", "baseline", "--reps", "1", "--steps", "2", *SMALL, *variant]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
