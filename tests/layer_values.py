"""Parameter values for gradient tests: every entry random and clearly away from 0."""
import numpy as np


def clear_random_values(layer, seed, scale=0.5):
    """Set every parameter of ``layer`` to N(0, scale²) with |θ| ≥ 0.05 (a weight near 0 would let
    a wrong gradient term hide) and return the layer."""
    rng = np.random.default_rng(seed + 100)
    values = {}
    for k, p in layer.params.items():
        v = scale * rng.standard_normal(p.shape)
        values[k] = np.where(np.abs(v) < 0.05, 0.05 * np.sign(v + 1e-12), v)
    return layer.set_params(values)
