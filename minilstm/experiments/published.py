"""The papers' own numbers, to print beside ours.

Sources: Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*, Neural Computation 9(8),
the tables of Exp. 1 to 6 (read from the paper's text; see the project's PAPERS.md); Gers, Schmidhuber
& Cummins (2000), *Learning to Forget*, Neural Computation 12(10), results on the continual
embedded Reber grammar (from secondary notes quoting it). ``success`` is a fraction (None: the paper does not state one); ``mean`` is the
mean number of training sequences (strings, symbols: see ``unit``) until success.
``variants`` give the rows of other settings the paper ran (see :func:`published_for`);
A variant's key may be a tuple of settings (Exp. 1: the net and the learning rate). An experiment
``NAME_bptt`` (the same net trained by BPTT, a comparison) is shown beside the row of ``NAME``.
``applies_to`` gives the settings a row is for (with other settings the table shows no number).
Gers, Schraudolph & Schmidhuber (2002), *Learning Precise Timing with LSTM*, JMLR 3: what the
project's notes record of it (the abstract and secondary notes): which timing tasks were learned
with and without peepholes, no success rates or counts.
"""

PUBLISHED = {
    "exp1_reber": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 1 (3 blocks x 2 cells, lr 0.5)",
        trials=30, success=1.0, mean=8440, unit="strings",
        method="online truncated RTRL-style rule, weights updated after every step, lr 0.5",
        other=("same net at lr 0.1: 100%, 21,730; lr 0.2: 97%, 14,060; 4x1 net at lr 0.1: 100%, "
               "39,740. Competitors: RTRL 'some fraction' after 25,000-173,000, Elman 0%, RCC 50%"),
        variants={("net", "lr"): {
            (net, lr): dict(source=f"Hochreiter & Schmidhuber (1997), Exp. 1 ({net[0]} blocks x "
                                   f"{net[2]} cell{'s' * (net[2] != '1')}, lr {lr})",
                            success=success, mean=mean,
                            method="online truncated RTRL-style rule, weights updated after "
                                   f"every step, lr {lr}")
            for net, lr, success, mean in (("3x2", 0.1, 1.0, 21730), ("3x2", 0.2, 0.97, 14060),
                                           ("3x2", 0.5, 1.0, 8440), ("4x1", 0.1, 1.0, 39740),
                                           ("4x1", 0.5, 0.97, 9500))
        }},
    ),
    "exp1_reber_bptt": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 1 (3 blocks x 2 cells, lr 0.5), the same "
               "row as exp1_reber: the paper has no BPTT run of this net",
        trials=30, success=1.0, mean=8440, unit="strings",
        method="online truncated RTRL-style rule, weights updated after every step, lr 0.5",
        other="the paper: 'a few runs with the full gradient showed no significant difference'",
    ),
    "exp2a_long_lag": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 2a, p = 100 (1 cell with input gate, "
               "10,504 weights)",
        trials=18, success=1.0, mean=5040, unit="sequences", applies_to={"p": 100},
        method="online truncated RTRL-style rule, lr 1.0",
        other="RTRL and BPTT on the same task: 0% successful",
    ),
    "exp2b_long_lag_random": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 2b, p = 100 (the net of 2a)",
        trials=None, success=1.0, mean=5680, unit="sequences", applies_to={"p": 100},
        method="online truncated RTRL-style rule, lr 1.0",
        other="",
    ),
    "exp2c_very_long_lag": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 2c, (q, p) = (50, 50) (2 blocks x 1 cell, "
               "no biases)",
        trials=None, success=None, mean=30000, unit="sequences", applies_to={"qp": [50, 50]},
        method="online truncated RTRL-style rule, lr 0.01",
        other="(q, p) = (50, 50): 30,000; (100, 100): 31,000; (1000, 1000): 49,000; (1000, 50): "
              "203,000",
        variants={"qp": {
            (100, 100): dict(source="Hochreiter & Schmidhuber (1997), Exp. 2c, (q, p) = (100, 100)",
                             mean=31000),
            (1000, 1000): dict(source="Hochreiter & Schmidhuber (1997), Exp. 2c, (q, p) = "
                                      "(1000, 1000)", mean=49000),
            (1000, 50): dict(source="Hochreiter & Schmidhuber (1997), Exp. 2c, (q, p) = (1000, 50)",
                             mean=203000),
        }},
    ),
    "exp3a_two_sequence": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 3a, T = 100, N = 3 (3 blocks x 1 cell, "
               "102 weights)",
        trials=None, success=None, mean=27380, unit="sequences", applies_to={"T": 100, "N": 3},
        method="online truncated RTRL-style rule, lr 1.0, input-gate biases -1, -3, -5, "
               "output-gate biases -2, -4, -6",
        other="success: no test sequence misclassified",
    ),
    **{f"exp{v}_two_sequence": dict(
        source=f"Hochreiter & Schmidhuber (1997), Exp. {v}: the project's notes on the paper "
               f"(PAPERS.md) record no number for {v}",
        trials=None, success=None, mean=None, unit="sequences",
        method=f"online truncated RTRL-style rule (the paper's settings for {v} are not in "
               "PAPERS.md)",
        other="",
    ) for v in ("3b", "3c")},
    "exp4_adding": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 4, T = 100 (2 blocks x 2 cells, 93 weights)",
        trials=10, success=None, mean=74000, unit="sequences",
        method="online truncated RTRL-style rule, lr 0.5, input-gate biases -3, -6",
        other="test: at most 1 wrong of 2,560 sequences; T = 500: 209,000; T = 1000: 853,000",
    ),
    "exp5_multiplication": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 5, T = 100 (2 blocks x 2 cells, 93 weights)",
        trials=None, success=None, mean=482000, unit="sequences", applies_to={"T": 100},
        method="online truncated RTRL-style rule, lr 0.1, random gate biases",
        other="MSE 0.0223 (T = 100)",
    ),
    "exp6a_temporal_order": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 6a (2 blocks x 2 cells, 156 weights)",
        trials=20, success=None, mean=31390, unit="sequences",
        method="online truncated RTRL-style rule, lr 0.5, input-gate biases -2, -4",
        other="Exp. 6b (3 relevant symbols, 3 blocks x 2 cells, lr 0.1): 571,100",
    ),
    "exp6b_temporal_order": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 6b (3 blocks x 2 cells, 308 weights)",
        trials=None, success=None, mean=571100, unit="sequences",
        method="online truncated RTRL-style rule, lr 0.1, input-gate biases -2, -4, -6",
        other="Exp. 6a (2 relevant symbols, 2 blocks x 2 cells, lr 0.5): 31,390",
    ),
    "cerg_forget": dict(
        source="Gers, Schmidhuber & Cummins (2000), CERG results: LSTM with forget gates, continual "
               "embedded Reber grammar (4 blocks x 2 cells)",
        trials=100, success=0.18, mean=None, unit="symbols",
        method="online truncated RTRL-style rule, lr 0.5 fixed, training streams of 10^5 "
               "symbols; 'perfect' = 10^6 successive symbols correct",
        other="with lr decay x0.99: 62% perfect; standard LSTM with external resets: 74%",
    ),
    "cerg_no_forget": dict(
        source="Gers, Schmidhuber & Cummins (2000), CERG results: standard LSTM (no forget gates) "
               "without resets, continual embedded Reber grammar",
        trials=100, success=0.0, mean=None, unit="symbols",
        method="online truncated RTRL-style rule, lr 0.5; the cell states drift and saturate h",
        other="the same net with external resets at string starts: 74% perfect",
    ),
    **{f"timing_{task}_{kind}": dict(
        source=f"Gers, Schraudolph & Schmidhuber (2002), {task.upper()}, "
               + ("peephole LSTM" if kind == "peephole" else "LSTM without peepholes")
               + " (1 block of 1 cell)",
        trials=None, success=success, mean=None, unit="sequences",
        method="the paper's truncated online rule (no error flows back through the peephole "
               "weights)",
        other=other,
    ) for task, kind, success, other in (
        ("msd", "peephole", None, "a peephole LSTM separates spike trains spaced 49 vs 50 steps; "
                                  "no success rate in the project's notes"),
        ("msd", "no_peephole", None, "the project's notes give no result without peepholes"),
        ("gts", "peephole", None, "learned only with peepholes: stable streams of precisely "
                                  "timed spikes without resets or teacher forcing; no success "
                                  "rate in the project's notes"),
        ("gts", "no_peephole", 0.0, "GTS was learned only with peepholes"),
        ("pfg", "peephole", None, "no success rate in the project's notes"),
        ("pfg", "no_peephole", None, "without peepholes only the cosine at F = 10 was learned"),
    )},
    "elman_long_lag": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 2a, p = 100: the paper's RTRL and BPTT "
               "nets on the same task",
        trials=None, success=0.0, mean=None, unit="sequences", applies_to={"p": 100},
        method="RTRL and BPTT (the competitors of Exp. 2a)",
        other="RTRL and BPTT 0%; LSTM (1 cell + input gate, 10,504 weights): 100%, 5,040 "
              "(18 trials)",
    ),
    "elman_adding": dict(
        source="no Elman net on the adding problem in the paper; the nearest published failure: "
               "Hochreiter & Schmidhuber (1997), Exp. 2a (p = 100): RTRL 0%, BPTT 0%; "
               "Exp. 1: Elman nets 0%",
        trials=None, success=0.0, mean=None, unit="sequences",
        method="BPTT / RTRL on fully recurrent nets (Exp. 2a), Elman training (Exp. 1)",
        other="",
    ),
}


def _key(value):
    """A setting as a dict key: JSON lists (e.g. Exp. 2c's ``qp``) as tuples."""
    return tuple(value) if isinstance(value, list) else value


def published_for(name, config):
    """The paper's row that matches ``config`` (e.g. Exp. 1 at the learning rate we ran).

    A row with ``applies_to`` is for those settings only: with others (and no matching variant)
    its numbers are replaced by None, and ``other`` says which settings the paper's are for.
    """
    if name not in PUBLISHED and name.endswith("_bptt"):    # a comparison row: the paper's row
        name = name[:-len("_bptt")]
    row = PUBLISHED[name]
    pub = {k: v for k, v in row.items() if k not in ("variants", "applies_to")}
    matched = False
    for key, rows in row.get("variants", {}).items():
        value = (tuple(_key(config.get(k)) for k in key) if isinstance(key, tuple)
                 else _key(config.get(key)))
        if value in rows:
            pub.update(rows[value])
            matched = True
    need = row.get("applies_to", {})
    if not matched and any(_key(config.get(k)) != _key(v) for k, v in need.items()):
        where = ", ".join(f"{k} = {v}" for k, v in need.items())
        pub.update(success=None, mean=None,
                   other=f"the paper's row is for {where}, not for this setting"
                         + (f"; {pub['other']}" if pub.get("other") else ""))
    return pub
