"""R peaks found by neurokit2 (its default ECG pipeline: ecg_clean, then ecg_peaks with the
"neurokit" method) in WFDB records read with the `wfdb` package, for
crates/ecg/tests/irregular_rhythm_interop.rs.

    python neurokit_peaks.py DIR R...   prints JSON {record: [sample, ...]} for signal 0
"""

import json
import sys

import neurokit2 as nk
import wfdb


def peaks(path):
    record = wfdb.rdrecord(path, channels=[0])
    fs = record.fs
    cleaned = nk.ecg_clean(record.p_signal[:, 0], sampling_rate=fs)
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
    return [int(p) for p in info["ECG_R_Peaks"]]


if __name__ == "__main__":
    directory = sys.argv[1]
    print(json.dumps({name: peaks(f"{directory}/{name}") for name in sys.argv[2:]}))
