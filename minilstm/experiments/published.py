"""The papers' own numbers, to print beside ours.

Sources: Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*, Neural Computation 9(8),
the tables of Exp. 1, 2a, 4 and 6a (read from the paper's text; see the project's PAPERS.md); Gers, Schmidhuber
& Cummins (2000), *Learning to Forget*, Neural Computation 12(10), results on the continual
embedded Reber grammar (from secondary notes quoting it). ``success`` is a fraction (None: the paper does not state one); ``mean`` is the
mean number of training sequences (strings, symbols: see ``unit``) until success.
``variants`` give the rows of other settings the paper ran (see :func:`published_for`).
"""

PUBLISHED = {
    "exp1_reber": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 1 (3 blocks x 2 cells, lr 0.5)",
        trials=30, success=1.0, mean=8440, unit="strings",
        method="online truncated RTRL-style rule, weights updated after every step, lr 0.5",
        other=("same net at lr 0.1: 100%, 21,730; lr 0.2: 97%, 14,060; 4x1 net at lr 0.1: 100%, "
               "39,740. Competitors: RTRL 'some fraction' after 25,000-173,000, Elman 0%, RCC 50%"),
        variants={"lr": {
            0.1: dict(source="Hochreiter & Schmidhuber (1997), Exp. 1 (3 blocks x 2 cells, lr 0.1)",
                      success=1.0, mean=21730,
                      method="online truncated RTRL-style rule, weights updated after every "
                             "step, lr 0.1"),
            0.2: dict(source="Hochreiter & Schmidhuber (1997), Exp. 1 (3 blocks x 2 cells, lr 0.2)",
                      success=0.97, mean=14060,
                      method="online truncated RTRL-style rule, weights updated after every "
                             "step, lr 0.2"),
        }},
    ),
    "exp1_reber_bptt": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 1 (3 blocks x 2 cells, lr 0.5), the same "
               "row as exp1_reber: the paper has no BPTT run of this net",
        trials=30, success=1.0, mean=8440, unit="strings",
        method="online truncated RTRL-style rule, weights updated after every step, lr 0.5",
        other="the paper: 'a few runs with the full gradient showed no significant difference'",
    ),
    "exp4_adding": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 4, T = 100 (2 blocks x 2 cells, 93 weights)",
        trials=10, success=None, mean=74000, unit="sequences",
        method="online truncated RTRL-style rule, lr 0.5, input-gate biases -3, -6",
        other="test: at most 1 wrong of 2,560 sequences; T = 500: 209,000; T = 1000: 853,000",
    ),
    "exp6a_temporal_order": dict(
        source="Hochreiter & Schmidhuber (1997), Exp. 6a (2 blocks x 2 cells, 156 weights)",
        trials=20, success=None, mean=31390, unit="sequences",
        method="online truncated RTRL-style rule, lr 0.5, input-gate biases -2, -4",
        other="Exp. 6b (3 relevant symbols, 3 blocks x 2 cells, lr 0.1): 571,100",
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
    "elman_adding": dict(
        source="no Elman net on the adding problem in the paper; the nearest published failure: "
               "Hochreiter & Schmidhuber (1997), Exp. 2a (p = 100): RTRL 0%, BPTT 0%; "
               "Exp. 1: Elman nets 0%",
        trials=None, success=0.0, mean=None, unit="sequences",
        method="BPTT / RTRL on fully recurrent nets (Exp. 2a), Elman training (Exp. 1)",
        other="",
    ),
}


def published_for(name, config):
    """The paper's row that matches ``config`` (e.g. Exp. 1 at the learning rate we ran)."""
    pub = {k: v for k, v in PUBLISHED[name].items() if k != "variants"}
    for key, rows in PUBLISHED[name].get("variants", {}).items():
        if config.get(key) in rows:
            pub.update(rows[config[key]])
    return pub
