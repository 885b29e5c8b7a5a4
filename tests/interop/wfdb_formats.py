"""WFDB records in every signal format, written and read by the Python `wfdb` package (PhysioNet's
wfdb-python), for crates/ecg/tests/wfdb_python_interop.rs.

    python wfdb_formats.py write DIR    writes f{fmt}_{shape} in each format wrsamp writes, and
                                        DIR/written.json with the exact stored samples
    python wfdb_formats.py read DIR R.. reads records R (written by us) with wfdb.rdsamp and prints
                                        JSON {record: {"digital": [[...]], "physical": [[...]]}}
"""

import json
import sys

import numpy as np
import wfdb

# Formats wfdb-python writes as plain signal files (508/516/524 are FLAC and not read by us).
WRITTEN = ["80", "212", "16", "24", "32"]
BITS = {"80": 8, "212": 12, "16": 16, "24": 24, "32": 32}
# (signals, samples per signal): odd totals and totals that are not multiples of 3.
SHAPES = {"a": (1, 1001), "b": (2, 1001)}


def samples(fmt, n_sig, length, rng):
    """A random walk per signal within the format's range, its extremes and one missing sample."""
    bits = BITS[fmt]
    low, high = -(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 1
    step = max(1, (high - low) // 200)
    walk = np.cumsum(rng.integers(-step, step + 1, size=(length, n_sig)), axis=0)
    d = np.clip(walk, low, high).astype(np.int64)
    d[1, :] = low
    d[2, :] = high
    d[length // 2, 0] = -(2 ** (bits - 1))  # the format's invalid-sample marker
    return d


def write(directory):
    rng = np.random.default_rng(18)
    written = {}
    for fmt in WRITTEN:
        for shape, (n_sig, length) in SHAPES.items():
            name = f"f{fmt}_{shape}"
            d = samples(fmt, n_sig, length, rng)
            wfdb.wrsamp(
                name,
                fs=360,
                units=["mV"] * n_sig,
                sig_name=[f"s{i}" for i in range(n_sig)],
                d_signal=d.astype(np.int32) if fmt == "32" else d,
                fmt=[fmt] * n_sig,
                adc_gain=[200.0] * n_sig,
                baseline=[0] * n_sig,
                write_dir=directory,
            )
            written[name] = {"fmt": fmt, "digital": d.T.tolist()}
    with open(f"{directory}/written.json", "w") as f:
        json.dump(written, f)


def read(directory, names):
    out = {}
    for name in names:
        digital = wfdb.rdrecord(f"{directory}/{name}", physical=False, return_res=32)
        physical = wfdb.rdrecord(f"{directory}/{name}")
        out[name] = {
            "digital": digital.d_signal.T.astype(np.int64).tolist(),
            "physical": [
                [None if np.isnan(v) else float(v) for v in column]
                for column in physical.p_signal.T
            ],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        read(sys.argv[2], sys.argv[3:])
