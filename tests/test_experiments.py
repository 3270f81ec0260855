"""The experiments command: help, tiny runs of every experiment, JSON, the table, bad arguments."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from minilstm.experiments import EXPERIMENTS, PUBLISHED, main, run_experiment
from minilstm.experiments.loops import ReberStreams
from minilstm.tasks import TASKS
from minilstm.tasks.reber import EMBEDDED_REBER, SYMBOLS, is_embedded_reber

# the smallest settings that still run every part of each experiment (< 30 s for all)
TINY = {
    "exp1_reber_bptt": ["--budget", "12", "--set", "check_every=6", "--set", "n_train=8",
                        "--set", "n_test=8"],
    "exp1_reber": ["--budget", "12", "--set", "check_every_steps=60", "--set", "n_train=8",
                   "--set", "n_test=8"],
    "exp4_adding": ["--budget", "64", "--set", "n_test=40", "--set", "T=20"],
    "exp6a_temporal_order": ["--budget", "64", "--set", "n_test=40"],
    "elman_adding": ["--budget", "64", "--set", "n_test=40", "--set", "T=20"],
    "cerg_forget": ["--budget", "800", "--set", "check_every=400", "--set", "test_len=300",
                    "--set", "final_test_len=500", "--set", "batch=4", "--set", "window=20"],
    "cerg_no_forget": ["--budget", "800", "--set", "check_every=400", "--set", "test_len=300",
                       "--set", "final_test_len=500", "--set", "batch=4", "--set", "window=20"],
}


def test_every_experiment_has_a_tiny_setting_and_published_numbers():
    assert set(TINY) == set(EXPERIMENTS) == set(PUBLISHED)


def test_help_lists_every_experiment_and_task():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "minilstm.experiments", "--help"],
                         capture_output=True, text=True, env=env, check=True).stdout
    for name in list(EXPERIMENTS) + list(TASKS):
        assert name in out, name
    for flag in ("--trials", "--seed", "--backend", "--budget", "--out", "--progress", "--quiet"):
        assert flag in out
    # honest: the tasks that have an experiment, apart from those that are generators only
    assert "used by the experiments" not in out
    with_exp, generators = out.split("tasks with an experiment")[1].split("data generators only")
    for task in TASKS:
        names = [n for n, e in EXPERIMENTS.items() if e.task == task]
        line = next(l for l in out.splitlines() if l.strip().startswith(task + " "))
        if names:
            assert line in with_exp and all(n in line for n in names), task
        else:
            assert line in generators, task
    assert {e.task for e in EXPERIMENTS.values()} <= set(TASKS)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_tiny_run_writes_json_and_prints_the_table(name, tmp_path, capsys):
    out = tmp_path / "sub" / f"{name}.json"
    assert main([name, "--trials", "2", "--seed", "3", "--out", str(out), "--quiet"] + TINY[name]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    for key in ("experiment", "config", "method", "seeds", "per_trial", "summary", "published",
                "wall_time_s", "versions", "criterion", "budget", "trials", "net"):
        assert key in result, key
    assert result["experiment"] == name and result["seeds"] == [3, 4]
    assert len(result["per_trial"]) == 2
    for r in result["per_trial"]:
        assert isinstance(r["success"], bool)
        assert r["sequences_to_success"] is None or 1 <= r["sequences_to_success"] <= result["budget"]
        assert r["sequences_presented"] <= result["budget"]
        assert r["diverged"] is False and r["diverged_at"] is None
    lines = printed.splitlines()
    assert any(l.startswith("paper ") for l in lines) and any(l.startswith("ours ") for l in lines)
    assert "seeds 3..4" in printed and "2 trials" in printed
    assert result["method"]["ours"] in printed and result["method"]["paper"] in printed
    assert main(["--show", str(out)]) == 0                    # the table again, from the JSON
    assert capsys.readouterr().out.strip() == printed.split("\nresult written")[0].strip()


def test_quiet_prints_only_the_table_and_progress_shows_rate_and_eta(tmp_path, capfd, monkeypatch):
    args = ["exp4_adding", "--trials", "2", "--out", str(tmp_path / "r.json")] + TINY["exp4_adding"]
    assert main(args + ["--quiet"]) == 0
    out, err = capfd.readouterr()
    assert err == "" and out.startswith("Exp. 4")
    assert main(args + ["--progress"]) == 0                 # tqdm: a bar with rate and ETA
    err = capfd.readouterr().err
    assert "trials 0..1 (seeds 0..1) as one batch of 2" in err
    assert "64/64" in err and "sequences/s" in err and "00:00<" in err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)     # without tqdm: lines, rate and ETA
    assert main(args + ["--progress"]) == 0
    lines = capfd.readouterr().err.splitlines()
    assert lines[0].startswith("exp4_adding: trials 0..1")
    assert lines[-1].startswith("exp4_adding trials 0..1: 64/64 sequences (100%), ")
    assert " sequences/s, ETA " in lines[-1] and lines[-1].endswith("/2 solved")


def test_results_record_the_git_commit_or_none(monkeypatch):
    from minilstm.experiments import runner
    r = run_experiment("exp4_adding", trials=1, budget=16, overrides={"n_test": 8, "T": 20})
    commit = r["versions"]["git_commit"]
    assert commit is None or len(commit.split("+")[0]) == 40
    def no_git(*a, **k):
        raise FileNotFoundError("git")
    monkeypatch.setattr(runner.subprocess, "run", no_git)
    assert runner.git_commit() is None


def test_weight_counts_of_the_1997_nets():
    counts = {}
    for name in ("exp1_reber", "exp4_adding", "exp6a_temporal_order"):
        r = run_experiment(name, trials=1, budget=1, overrides={"n_test": 8} if name != "exp1_reber"
                           else {"n_train": 4, "n_test": 4, "check_every_steps": 10})
        counts[name] = r["weights_per_trial"]
    assert counts == {"exp1_reber": 276, "exp4_adding": 93, "exp6a_temporal_order": 156}


@pytest.mark.parametrize("name,overrides,budget", [
    ("exp1_reber", {"n_train": 6, "n_test": 6, "check_every_steps": 25}, 15),
    ("exp4_adding", {"n_test": 8, "T": 20, "batch": 4}, 24),
])
def test_trials_in_a_batch_equal_trials_alone(name, overrides, budget):
    together = run_experiment(name, trials=3, budget=budget, overrides=overrides, return_params=True)
    alone = run_experiment(name, trials=3, budget=budget, overrides=overrides, return_params=True,
                           trials_per_batch=1)
    for k in range(3):
        for p in together["_params"][k]:
            np.testing.assert_allclose(together["_params"][k][p], alone["_params"][k][p],
                                       rtol=0, atol=1e-10, err_msg=f"trial {k} {p}")
        a, b = together["per_trial"][k], alone["per_trial"][k]
        assert (a["success"], a["sequences_to_success"]) == (b["success"], b["sequences_to_success"])


def test_a_diverging_trial_of_the_online_rule_is_frozen_and_the_others_go_on(monkeypatch):
    """At update 5 the 1997 rule's gradient of trial 1 (of 3 in one batch) overflows across its
    rows of W_z, off-block columns included. Trial 1 keeps its weights of update 4 and is recorded
    as diverged at update 5; trials 0 and 2 end exactly as when each runs alone."""
    from minilstm.experiments import loops
    from minilstm.rtrl1997 import TruncatedRTRL
    H = 6                                                    # cells of the 3x2 Exp. 1 net
    seen = {}

    class Overflowing(TruncatedRTRL):
        calls = 0

        def gradient(self, dy_t, into=None):
            out = super().gradient(dy_t, into)
            if self.layer.n_cells == 3 * H:                  # only in the batch of 3 trials
                if Overflowing.calls == 5:                   # the weights after update 4
                    seen["before"] = {k: v.copy() for k, v in self.layer.params.items()}
                    out["W_z"][H:2 * H, :] = np.inf
                Overflowing.calls += 1
            return out

    kw = dict(trials=3, budget=15, overrides={"n_train": 6, "n_test": 6, "check_every_steps": 25},
              return_params=True)
    monkeypatch.setattr(loops, "TruncatedRTRL", Overflowing)
    with np.errstate(invalid="ignore"):                      # inf · 0 in the masking
        together = run_experiment("exp1_reber", **kw)
    alone = run_experiment("exp1_reber", trials_per_batch=1, **kw)
    assert [r["diverged"] for r in together["per_trial"]] == [False, True, False]
    assert [r["diverged_at"] for r in together["per_trial"]] == [None, 5, None]
    assert together["summary"]["n_diverged"] == 1
    assert all(r["diverged_at"] is None for r in alone["per_trial"])
    for k in (0, 2):
        for p in together["_params"][k]:
            np.testing.assert_allclose(together["_params"][k][p], alone["_params"][k][p],
                                       rtol=0, atol=1e-10, err_msg=f"trial {k} {p}")
    W_z = seen["before"]["W_z"][H:2 * H, 7:14]               # trial 1's block after update 4
    np.testing.assert_array_equal(together["_params"][1]["core.W_z"], W_z)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_strict_backend_runs(name, tmp_path, capsys):
    """The CuPy stand-in refuses implicit host conversions, so this guards the GPU path."""
    out = tmp_path / "r.json"
    assert main([name, "--trials", "2", "--backend", "strict", "--out", str(out), "--quiet"]
                + TINY[name]) == 0
    assert json.loads(out.read_text())["versions"]["backend"] == "strict"


def test_command_line_end_to_end(tmp_path):
    out = tmp_path / "r.json"
    # The default thread count is under test: the caller's choice (make exports one) must not leak in.
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                        "MINILSTM_NO_REEXEC")}
    proc = subprocess.run([sys.executable, "-m", "minilstm.experiments", "exp4_adding", "--trials",
                           "1", "--budget", "32", "--set", "n_test=8", "--set", "T=20", "--out",
                           str(out), "--progress"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "paper" in proc.stdout and "trials 0..0" in proc.stderr
    assert json.loads(out.read_text())["versions"]["blas_threads"] == "1"


@pytest.mark.parametrize("args,message", [
    (["no_such_experiment"], "invalid choice"),
    ([], "NAME is required"),
    (["exp4_adding", "--trials", "0"], "--trials must be >= 1"),
    (["exp4_adding", "--budget", "-5"], "--budget must be >= 1"),
    (["exp4_adding", "--seed", "-1"], "--seed must be >= 0"),
    (["exp4_adding", "--backend", "tpu"], "invalid choice"),
    (["exp4_adding", "--set", "learning_rate=0.1"], "has no setting 'learning_rate'"),
    (["exp4_adding", "--set", "lr=fast"], "expected a number"),
    (["exp4_adding", "--set", "lr"], "KEY=VALUE"),
    (["exp4_adding", "--trials", "two"], "invalid int value"),
    (["exp4_adding", "--progress", "--quiet"], "not allowed with"),
])
def test_bad_arguments_give_clear_errors(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_show_refuses_a_file_that_is_not_a_result(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit):
        main(["--show", str(bad)])
    assert "not a readable result file" in capsys.readouterr().err


def test_out_that_is_a_directory_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["exp4_adding", "--out", str(tmp_path)])
    assert "is a directory" in capsys.readouterr().err


def test_reber_streams_follow_the_grammar_without_resets():
    rng = np.random.default_rng(0)
    s = ReberStreams(3)
    sym, tgt = s.next(rng.random((400, 3)))
    for r in range(3):
        text = "".join(SYMBOLS[i] for i in sym[:, r])
        state, current, complete = EMBEDDED_REBER.start, "", 0
        for t, c in enumerate(text):
            state = EMBEDDED_REBER.transitions[state][c]      # KeyError: not the grammar
            current += c
            # target: the legal successors of the prefix; B after a string's final E
            legal = EMBEDDED_REBER.legal_next(state) or {"B"}
            assert {SYMBOLS[i] for i in np.flatnonzero(tgt[t, r])} == set(legal)
            if state == EMBEDDED_REBER.accept:
                assert is_embedded_reber(current)
                state, current, complete = EMBEDDED_REBER.start, "", complete + 1
        assert complete > 10


def test_the_paper_row_follows_the_learning_rate(tmp_path):
    r = run_experiment("exp1_reber", trials=1, budget=2, overrides={
        "lr": 0.1, "n_train": 4, "n_test": 4, "check_every_steps": 10})
    assert r["published"]["mean"] == 21730 and "lr 0.1" in r["method"]["paper"]
    assert "variants" not in r["published"]


def test_next_symbol_targets_are_the_actual_successor_within_the_legal_set():
    from minilstm.experiments.loops import next_symbol_targets
    from minilstm.tasks.reber import SYMBOLS, encode_strings
    strings = ["BTBPVVETE", "BPBTSSXSEPE"]
    b = encode_strings(strings, embedded=True)
    y = next_symbol_targets(b)
    for k, s in enumerate(strings):
        L = len(s) - 1
        got = "".join(SYMBOLS[i] for i in y[:L, k].argmax(axis=1))
        assert got == s[1:]                                  # the symbol that actually follows
        assert (y[:L, k].sum(axis=1) == 1).all() and (y[L:, k] == 0).all()
        assert (b.y[:L, k][y[:L, k] > 0] == 1).all()         # always one of the legal ones
