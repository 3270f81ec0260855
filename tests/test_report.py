"""Tables of results (minilstm.experiments.report): the Wilson interval and the verdict rule."""
import json

import pytest

from minilstm.experiments import report


def test_wilson_interval_matches_known_values():
    lo, hi = report.wilson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = report.wilson(10, 10)
    assert lo == pytest.approx(0.7225, abs=1e-4) and hi == 1.0
    lo, hi = report.wilson(2, 30)                      # Exp. 1 at the paper's setting
    assert (lo, hi) == (pytest.approx(0.0185, abs=1e-4), pytest.approx(0.2132, abs=1e-4))
    with pytest.raises(ValueError, match="k must be"):
        report.wilson(11, 10)


def _result(k, n, mean, paper_success, paper_mean, rule="rtrl1997", optimizer="sgd"):
    return {"summary": {"n_success": k, "n_trials": n, "mean_to_success": mean},
            "published": {"success": paper_success, "mean": paper_mean},
            "config": {"rule": rule, "optimizer": optimizer}}


@pytest.mark.parametrize("args,expected", [
    ((0, 10, None, 1.0, 8440), "not reproduced"),
    ((2, 30, 14000, 1.0, 8440), "not reproduced: 2/30 solved, paper 100%"),
    ((1, 10, 50000, None, 74000), "not reproduced: 1/10 solved"),
    ((20, 20, 23811, None, 31390), "reproduced"),
    ((10, 10, 30000, None, 74000), "reproduced, faster"),
    ((7, 10, 67162, None, 31390), "slower by a factor 2.1"),
    ((0, 10, None, 0.0, None), "as the paper (0%)"),
    ((3, 10, 1000, None, None), "no published number"),
])
def test_verdict_follows_the_stated_rule(args, expected):
    assert report.verdict(_result(*args)) == expected


def test_load_puts_the_paper_method_rows_first_in_the_papers_order(tmp_path):
    def write(name, experiment, rule, optimizer):
        r = {"experiment": experiment, "config": {"rule": rule, "optimizer": optimizer}}
        (tmp_path / f"{name}.json").write_text(json.dumps(r))
    write("exp4_adding_bptt", "exp4_adding_bptt", "bptt", "adam")
    write("exp6a_temporal_order", "exp6a_temporal_order", "rtrl1997", "sgd")
    write("exp4_adding", "exp4_adding", "rtrl1997", "sgd")
    write("cerg_forget", "cerg_forget", "truncated_bptt", "adam")      # not a 1997 experiment
    assert list(report.load(tmp_path)) == ["exp4_adding", "exp6a_temporal_order",
                                           "exp4_adding_bptt"]


def test_the_table_order_is_the_registrys():
    """No hand-kept list: a new experiment takes its place in the tables from the registry."""
    from minilstm.experiments import EXPERIMENTS
    assert report.ORDER == tuple(EXPERIMENTS)
    assert report.ORDER.index("exp1_reber") < report.ORDER.index("exp4_adding") \
        < report.ORDER.index("exp6b_temporal_order") < report.ORDER.index("elman_adding")
