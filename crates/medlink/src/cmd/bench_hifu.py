"""NumPy baseline for `medlink bench hifu`: the same fused Pennes + CEM43 update as the Rust solver.

Usage: python bench_hifu.py N STEPS  -> prints {"cells_per_s": ..., "seconds_per_step": ...} as JSON.
"""
import json
import sys
import time

import numpy as np

n, steps = int(sys.argv[1]), int(sys.argv[2])
f = np.float32
temperature = np.full((n, n, n), 37.0, dtype=f)
temperature[n // 2 - 4 : n // 2 + 4, n // 2 - 4 : n // 2 + 4, n // 2 - 4 : n // 2 + 4] = 60.0
conductivity = np.full((n, n, n), 0.495, dtype=f)
gain = np.full((n, n, n), 0.05, dtype=f)
perfusion = np.full((n, n, n), 4e-4, dtype=f)
dose = np.zeros((n, n, n), dtype=f)
out = temperature.copy()
body, dt = f(37.0), f(0.6)
inner = (slice(1, -1),) * 3


def shifted(axis, step):
    index = [slice(1, -1)] * 3
    index[axis] = slice(1 + step, n - 1 + step)
    return tuple(index)


def update(t, out):
    centre, k = t[inner], conductivity[inner]
    flux = np.zeros_like(centre)
    for axis in range(3):
        for step in (-1, 1):
            flux += (k + conductivity[shifted(axis, step)]) * (t[shifted(axis, step)] - centre)
    new = centre + gain[inner] * flux - perfusion[inner] * (centre - body)
    out[inner] = new
    above = f(0.5) * (centre + new) - f(43.0)
    exponent = np.where(above >= 0, above, f(2.0) * above)
    dose[inner] += dt * np.exp2(exponent) / f(60.0)


update(temperature, out)
best = float("inf")
for _ in range(steps):
    start = time.perf_counter()
    update(temperature, out)
    best = min(best, time.perf_counter() - start)
    temperature, out = out, temperature
print(json.dumps({"cells_per_s": (n - 2) ** 3 / best, "seconds_per_step": best}))
