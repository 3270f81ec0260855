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

# the smallest settings that still run every part of each experiment (< 30 s for all): each
# experiment carries its own (Experiment.tiny; a comparison NAME_bptt derives its from NAME's)
TINY = {name: exp.tiny_args() for name, exp in EXPERIMENTS.items()}


def test_every_experiment_has_a_tiny_setting_and_published_numbers():
    assert set(TINY) == set(EXPERIMENTS)
    assert TINY["exp4_adding"] == ["--budget", "64", "--set", "n_test=40", "--set", "T=20",
                                   "--set", "check_every_steps=500"]
    assert TINY["exp4_adding_bptt"] == ["--budget", "64", "--set", "n_test=40", "--set", "T=20",
                                        "--set", "batch=4"]
    assert TINY["exp2c_very_long_lag"][-1] == "qp=[5,5]"
    from minilstm.experiments import published_for
    for name, exp in EXPERIMENTS.items():                 # NAME_bptt shows the row of NAME
        assert name in PUBLISHED or name[:-len("_bptt")] in PUBLISHED, name
        assert published_for(name, exp.defaults)["source"], name


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
    args = ["exp4_adding_bptt", "--trials", "2", "--out", str(tmp_path / "r.json")] + TINY["exp4_adding_bptt"]
    assert main(args + ["--quiet"]) == 0
    out, err = capfd.readouterr()
    assert err == "" and out.startswith("Exp. 4")
    # progress lines name the experiment (kept below with its old name for the other asserts)
    assert main(args + ["--progress"]) == 0                 # tqdm: a bar with rate and ETA
    err = capfd.readouterr().err
    assert "trials 0..1 (seeds 0..1) as one batch of 2" in err
    assert "64/64" in err and "sequences/s" in err and "00:00<" in err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)     # without tqdm: lines, rate and ETA
    assert main(args + ["--progress"]) == 0
    lines = capfd.readouterr().err.splitlines()
    assert lines[0].startswith("exp4_adding_bptt: trials 0..1")
    assert lines[-1].startswith("exp4_adding_bptt trials 0..1: 64/64 sequences (100%), ")
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
    paper = {"exp1_reber": 276, "exp2a_long_lag": 10504, "exp2b_long_lag_random": 10504,
             "exp3a_two_sequence": 102, "exp3b_two_sequence": 102, "exp3c_two_sequence": 102,
             "exp4_adding": 93, "exp5_multiplication": 93, "exp6a_temporal_order": 156,
             "exp6b_temporal_order": 308}                   # PAPERS.md's table
    for name in paper:
        r = run_experiment(name, trials=1, budget=1, overrides={"n_test": 2} if name != "exp1_reber"
                           else {"n_train": 4, "n_test": 4, "check_every_steps": 10})
        counts[name] = r["weights_per_trial"]
        assert f"{paper[name]:,} weights" in r["net"] or f"{paper[name]} weights" in r["net"], name
    assert counts == paper


def test_the_exp2_net_is_one_cell_with_an_input_gate_and_direct_input_output_weights():
    """10,504 = 101 outputs x (101 inputs + the cell) + cell and input gate x 101 inputs: no
    output gate, no biases, no recurrent weights (held at 0, not trained)."""
    r = run_experiment("exp2a_long_lag", trials=2, budget=2, overrides={"n_test": 2},
                       return_params=True)
    shapes = {k: v.shape for k, v in r["_params"][0].items()}
    assert shapes == {"core.W_z": (1, 101), "core.W_i": (1, 101), "readout.W": (101, 102)}
    assert "no output gate" in r["net"] and "g logistic, h identity" in r["net"]
    cfg = r["config"]
    assert (cfg["init_scale"], cfg["window"], cfg["count"]) == (0.2, 10_000, "start")
    assert r["published"]["mean"] == 5040 and r["published"]["trials"] == 18


def test_the_exp2c_setting_qp_picks_the_paper_row_and_sizes_the_net():
    rows = {}
    for qp, mean in (([50, 50], 30000), ([100, 100], 31000), ([1000, 50], 203000), ([20, 20], None)):
        r = run_experiment("exp2c_very_long_lag", trials=1, budget=1,
                           overrides={"qp": qp, "n_test": 1})
        rows[tuple(qp)] = r["published"]["mean"]
        assert r["weights_per_trial"] == 6 * (qp[1] + 4 + 6) + 4     # the paper's count rule
        assert mean is not None or "not for this setting" in r["published"]["other"]
    assert rows == {(50, 50): 30000, (100, 100): 31000, (1000, 50): 203000, (20, 20): None}


def test_the_settings_of_the_new_1997_experiments_are_the_papers():
    from minilstm.experiments.runner import resolve_config
    cfg = {n: resolve_config(EXPERIMENTS[n]) for n in EXPERIMENTS}
    assert cfg["exp3a_two_sequence"]["input_gate_bias"] == [-1.0, -3.0, -5.0]
    assert cfg["exp3a_two_sequence"]["output_gate_bias"] == [-2.0, -4.0, -6.0]
    assert (cfg["exp3a_two_sequence"]["T"], cfg["exp3a_two_sequence"]["N"]) == (100, 3)
    assert cfg["exp5_multiplication"]["input_gate_bias"] is None        # random biases
    assert cfg["exp6b_temporal_order"]["input_gate_bias"] == [-2.0, -4.0, -6.0]
    assert cfg["exp2c_very_long_lag"]["init_scale"] == 0.2 and cfg["exp2c_very_long_lag"]["qp"] == [50, 50]
    for name in ("exp2a_long_lag", "exp2b_long_lag_random", "exp2c_very_long_lag",
                 "exp3a_two_sequence", "exp5_multiplication", "exp6b_temporal_order"):
        assert any("instead of the paper's online truncated rule" in n
                   for n in EXPERIMENTS[name + "_bptt"].notes)
        assert (EXPERIMENTS[name].rule, EXPERIMENTS[name].optimizer) == ("rtrl1997", "sgd")
        assert (EXPERIMENTS[name + "_bptt"].rule, EXPERIMENTS[name + "_bptt"].optimizer) == ("bptt", "adam")
    for paper_lr, name in ((1.0, "exp2a_long_lag"), (1.0, "exp2b_long_lag_random"),
                           (0.01, "exp2c_very_long_lag"), (1.0, "exp3a_two_sequence"),
                           (0.5, "exp4_adding"), (0.1, "exp5_multiplication"),
                           (0.5, "exp6a_temporal_order"), (0.1, "exp6b_temporal_order")):
        assert f"lr {paper_lr}" in PUBLISHED[name]["method"], name
        assert cfg[name]["lr"] == paper_lr, name                # the main row: the paper's rate
    trials = {n: EXPERIMENTS[n].trials for n in ("exp1_reber", "exp2a_long_lag", "exp2c_very_long_lag",
                                                 "exp4_adding", "exp6a_temporal_order")}
    assert trials == {"exp1_reber": 30, "exp2a_long_lag": 18, "exp2c_very_long_lag": 20,
                      "exp4_adding": 10, "exp6a_temporal_order": 20}     # the paper's counts


@pytest.mark.parametrize("task", ["msd", "gts", "pfg"])
def test_timing_pairs_differ_only_in_the_peepholes(task):
    """Gers et al. (2002): 1 input, 1 block of 1 cell, 1 output; g = h = identity; gate biases
    forget -2, input 0, output +2. The two experiments of a pair share every setting."""
    pair = [run_experiment(f"timing_{task}_{k}", trials=1, budget=1, return_params=True,
                           overrides={"n_test": 1, ("n_periods" if task == "pfg" else "n_spikes"): 1,
                                      ("test_n_periods" if task == "pfg" else "test_n_spikes"): 2})
            for k in ("peephole", "no_peephole")]
    with_p, without = (set(r["_params"][0]) for r in pair)
    assert with_p - without == {"core.p_i", "core.p_f", "core.p_o"} and without < with_p
    assert pair[0]["weights_per_trial"] == pair[1]["weights_per_trial"] + 3
    assert all(f"{r['weights_per_trial']} weights" in r["net"] for r in pair)
    assert pair[0]["config"] == pair[1]["config"]
    from minilstm.experiments import trial_seeds
    from minilstm.experiments.runner import resolve_config
    exp = EXPERIMENTS[f"timing_{task}_peephole"]
    model = exp.build(resolve_config(exp), trial_seeds(0))          # before training
    p, core = model.params, model.core
    assert (core.n_in, core.n_cells, model.readout.n_out) == (1, 1, 1)
    assert (core.g, core.h, core.forget_gate, core.peepholes) == ("identity", "identity", True, True)
    assert [float(p[f"core.b_{g}"][0]) for g in "ifo"] == [0.0, -2.0, 2.0]
    assert "g = h = identity" in pair[0]["net"] and "peephole" in pair[0]["net"]


def test_timing_test_of_an_overflowing_trial_counts_its_streams_wrong_and_spares_the_others():
    """A trial whose unbounded cell overflows on a test stream gets NaN outputs; its neighbour in
    the batch is tested as if alone."""
    from minilstm.experiments.loops import _test_outputs
    from minilstm.experiments import trial_seeds
    from minilstm.experiments.runner import resolve_config
    from minilstm.train.trials import TrialBatch
    exp = EXPERIMENTS["timing_gts_no_peephole"]
    cfg = resolve_config(exp)
    tb = TrialBatch([exp.build(cfg, trial_seeds(s)) for s in (0, 1)], loss="mse")
    alone = TrialBatch([exp.build(cfg, trial_seeds(1))], loss="mse")
    p = tb.trial_params(0)
    p.update({"core.b_f": np.array([50.0]), "core.b_i": np.array([50.0]),
              "core.R_z": np.array([[50.0, 50.0, 50.0, 50.0]])})  # c grows without bound
    tb.set_trial_params(0, p)
    x = TASKS["gts"](1, 0, period=10, n_spikes=40).x
    outs = _test_outputs(tb, tb.pack([x, x]))
    assert np.isnan(outs[0]).all()
    np.testing.assert_allclose(outs[1], _test_outputs(alone, alone.pack([x]))[0], rtol=0, atol=1e-12)
    assert all(np.array_equal(tb.trial_params(0)[k], p[k]) for k in p)      # weights restored


def test_the_bptt_loops_stopping_rule_counts_the_sequences_of_the_first_correct_window(monkeypatch):
    """The TrialBatch loop (loops.bptt_last_step: Elman, timing): success at the end of the first
    window of ``window`` correct sequences, judged after every sequence."""
    from minilstm.experiments import loops
    verdicts = iter([False] * 6 + [True, False, True, True] + [True] * 100)
    monkeypatch.setitem(loops.SUCCESS, "adding",
                        lambda out, b: np.array([next(verdicts) for _ in range(b.B)]))
    r = run_experiment("elman_adding", trials=1, budget=40, overrides={
        "n_test": 1, "T": 20, "batch": 2, "window": 4, "mean_error_below": None})["per_trial"][0]
    assert r["sequences_to_success"] == 12            # sequences 9..12: the first 4 correct


@pytest.mark.parametrize("name,overrides,budget", [
    ("exp1_reber", {"n_train": 6, "n_test": 6, "check_every_steps": 25}, 15),
    ("exp1_reber_bptt", {"n_train": 6, "n_test": 6, "check_every": 4, "batch": 2}, 12),
    ("exp4_adding", {"n_test": 8, "T": 20, "check_every_steps": 100}, 24),
    ("exp2a_long_lag", {"n_test": 2, "p": 12}, 8),                  # the direct input-output net
    # Adam's per-weight moments of packed trials must not mix (off-block gradients are 0)
    ("exp4_adding_bptt", {"n_test": 8, "T": 20, "batch": 4}, 24),
    ("exp2a_long_lag_bptt", {"n_test": 2, "p": 12, "batch": 2}, 8),
    ("timing_gts_peephole", {"n_test": 1, "n_spikes": 3, "test_n_spikes": 4}, 6),
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
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-m", "minilstm.experiments", "exp4_adding", "--trials",
                           "1", "--budget", "32", "--set", "n_test=8", "--set", "T=20", "--out",
                           str(out), "--progress"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "paper" in proc.stdout and "trials 0..0" in proc.stderr
    assert proc.stderr.startswith("python -m minilstm.experiments: restarting with one BLAS thread")
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
    from minilstm.tasks.reber import next_symbol_targets
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


def test_exp1_nets_rows_and_the_papers_three_data_sets():
    kw = dict(budget=2, return_params=True)
    base = {"n_train": 6, "n_test": 6, "check_every_steps": 20}
    r = run_experiment("exp1_reber", trials=1, overrides={**base, "net": "4x1", "lr": 0.1}, **kw)
    assert r["weights_per_trial"] == 264 and "264 weights" in r["net"]
    assert r["published"]["mean"] == 39740 and "4 blocks x 1 cell" in r["published"]["source"]
    assert r["config"]["rule"] == "rtrl1997" and r["config"]["optimizer"] == "sgd"
    from minilstm.experiments.builders import trial_seeds
    from minilstm.experiments.trainers import exp1_data as _exp1_data
    from minilstm.experiments.runner import resolve_config
    cfg = {**resolve_config(EXPERIMENTS["exp1_reber"]), **base, "data_sets": 3}
    data = _exp1_data(cfg, [trial_seeds(s) for s in range(6)])
    assert [d["train"] for d in data[:3]] == [d["train"] for d in data[3:]]   # pairs s mod 3
    assert data[0]["train"] != data[1]["train"] and data[0]["test"] != data[1]["test"]
    own = _exp1_data({**cfg, "data_sets": None}, [trial_seeds(s) for s in (0, 3)])
    assert own[0]["train"] != own[1]["train"]
    with pytest.raises(ValueError, match="net='5x1'"):
        run_experiment("exp1_reber", trials=1, overrides={**base, "net": "5x1"}, **kw)


def test_the_online_window_rule_allows_max_wrong_and_counts_from_the_window_start():
    """The device rule of the paper-method rows: solved at the end of the first sequence whose
    window holds at most max_wrong wrong; count = 'start' subtracts the window."""
    from minilstm.experiments import online
    from minilstm.experiments.online import WindowRule
    verdicts = [False] * 6 + [True, False, True, True] + [True] * 10
    for max_wrong, expected in ((0, 12), (1, 10)):
        rule = WindowRule(np, 1, 4, tol=0.5, max_wrong=max_wrong)
        for n, ok in enumerate(verdicts, start=1):
            rule.seq_bad[0] = not ok
            rule.end_sequences(np.array([0]), np.array([n]), np.ones(1, bool))
        assert int(rule.solved_at[0]) == expected
        run = {"n_seq": np.array([20]), "solved_at": rule.solved_at, "diverged_at": np.array([-1])}
        assert online._results(run, count_offset=4)[0]["sequences_to_success"] == expected - 4


@pytest.mark.parametrize("name", ["exp4_adding", "exp4_adding_bptt", "exp1_reber_bptt",
                                  "elman_adding", "cerg_forget"])
def test_a_time_limit_stops_every_loop_and_is_said(name):
    """Each training loop (online on the trial axis, mini-batch on it, strings, the packed
    trials, the continual stream) stops at the time limit, says so, and counts what it used."""
    said = []
    settings = {"exp4_adding": {"T": 20, "n_test": 4, "check_every_steps": 50},
                "exp4_adding_bptt": {"T": 20, "n_test": 4}, "elman_adding": {"T": 20, "n_test": 4},
                "exp1_reber_bptt": {"n_train": 8, "n_test": 8},
                "cerg_forget": {"test_len": 50, "final_test_len": 50, "batch": 4, "window": 20}}[name]
    result = run_experiment(name, trials=1, budget=10**7, overrides=settings, time_limit=1e-9,
                            progress=said.append)
    assert any("time limit 1e-09 s reached" in m for m in said), said
    trial = result["per_trial"][0]
    assert not trial["success"]
    assert trial["sequences_presented"] < 10**7


def test_a_new_experiment_is_its_spec_and_its_published_row(monkeypatch, tmp_path, capsys):
    """Adding an experiment edits the registry and PUBLISHED only: the command line, --help, the
    tiny run of the tests and the settings that may be null follow (the report's order is the
    registry's: tests/test_report.py)."""
    from dataclasses import replace
    from minilstm.experiments.runner import resolve_config
    base = EXPERIMENTS["elman_adding"]
    new = replace(base, name="elman_adding_t50", summary="a new experiment (test)",
                  defaults={**base.defaults, "T": 50, "hidden": 4, "stop_early": None},
                  tiny={"budget": 32, "n_test": 8, "T": 20, "hidden": 3})
    monkeypatch.setitem(EXPERIMENTS, new.name, new)
    monkeypatch.setitem(PUBLISHED, new.name, dict(source="a test row", trials=None, success=None,
                                                  mean=None, unit="sequences", method="none"))
    out = tmp_path / "r.json"
    assert main([new.name, "--trials", "2", "--out", str(out), "--quiet"] + new.tiny_args()) == 0
    result = json.loads(out.read_text())
    assert result["config"]["T"] == 20 and result["config"]["hidden"] == 3
    assert "3 tanh units" in result["net"] and "a test row" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out.splitlines()
    assert any(l.split()[:2] == ["elman_adding_t50", "a"] and l.endswith("(test)") for l in shown)
    assert resolve_config(new, {"stop_early": "null"})["stop_early"] is None     # a None default
    with pytest.raises(ValueError, match="T"):
        resolve_config(EXPERIMENTS["elman_adding"], {"T": "null"})
