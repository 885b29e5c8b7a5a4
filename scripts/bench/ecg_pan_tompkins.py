"""Baseline for `medlink bench ecg`: a straightforward streaming Pan-Tompkins loop in plain Python.

Reads little-endian float32 samples (mV) from a file, runs the same stages as the Rust detector
one sample at a time (Butterworth band-pass 5-15 Hz as two biquads, five-point derivative,
squaring, 150 ms moving-window integration, peak picking, adaptive thresholds, refractory
period, T-wave slope check, search-back) and prints JSON: samples, seconds, beats.
Standard library only, so it runs from the project's .venv or any python3.
"""
import array
import json
import math
import sys
import time


def biquad(kind, cutoff, fs):
    w = 2 * math.pi * cutoff / fs
    cos, alpha = math.cos(w), math.sin(w) / (2 * math.sqrt(0.5))
    if kind == "low":
        b = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2]
    else:
        b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    a0 = 1 + alpha
    return [v / a0 for v in b], [-2 * cos / a0, (1 - alpha) / a0]


def detect(signal, fs):
    (hb, ha), (lb, la) = biquad("high", 5.0, fs), biquad("low", 15.0, fs)
    hs = [0.0, 0.0]
    ls = [0.0, 0.0]
    hist = [0.0, 0.0, 0.0, 0.0]
    width = max(1, round(0.15 * fs))
    window = [0.0] * width
    wpos = 0
    total = 0.0
    refractory, t_wave = round(0.2 * fs), round(0.36 * fs)
    confirm, learning = round(0.1 * fs), round(2.0 * fs)
    spk = npk = 0.0
    learn_max = learn_sum = 0.0
    prev = 0.0
    rising = False
    cand = None
    last = None
    last_slope = 0.0
    slopes = [0.0] * (width + 3)
    rr = []
    pending = []
    beats = []
    learned_peaks = []
    for n, x in enumerate(signal):
        y = hb[0] * x + hs[0]
        hs[0] = hb[1] * x - ha[0] * y + hs[1]
        hs[1] = hb[2] * x - ha[1] * y
        x = y
        y = lb[0] * x + ls[0]
        ls[0] = lb[1] * x - la[0] * y + ls[1]
        ls[1] = lb[2] * x - la[1] * y
        d = (2 * y + hist[0] - hist[2] - 2 * hist[3]) * 0.125
        hist = [y, hist[0], hist[1], hist[2]]
        slopes[n % len(slopes)] = abs(d)
        total += d * d - window[wpos]
        window[wpos] = d * d
        wpos = (wpos + 1) % width
        m = total
        if n < learning:
            learn_max = max(learn_max, m)
            learn_sum += m
        if m > prev:
            rising = True
        elif rising:
            rising = False
            if cand is None or prev > cand[1]:
                cand = (n - 1, prev)
        prev = m
        peak = None
        if cand is not None and n - cand[0] >= confirm:
            peak = (cand[0], cand[1], max(slopes))
            cand = None
        if peak is not None and n < learning:
            learned_peaks.append(peak)
            peak = None
        queue = [peak] if peak else []
        if n + 1 == learning:
            spk, npk = learn_max / 3, learn_sum / learning / 2
            queue = learned_peaks + queue
        for idx, h, slope in queue:
            if last is not None and idx - last < refractory:
                continue
            thr = npk + 0.25 * (spk - npk)
            is_t = last is not None and idx - last < t_wave and slope < 0.5 * last_slope
            if h > thr and not is_t:
                spk = 0.125 * h + 0.875 * spk
                if last is not None:
                    rr = (rr + [idx - last])[-8:]
                last, last_slope = idx, slope
                beats.append(idx)
                pending = []
            else:
                npk = 0.125 * h + 0.875 * npk
                if last is not None:
                    pending.append((idx, h, slope))
        if last is not None and pending and rr:
            limit = min(1.66 * sum(rr) / len(rr), 2.5 * fs)
            if n - confirm - last > limit:
                thr2 = 0.5 * (npk + 0.25 * (spk - npk))
                good = [p for p in pending if p[1] > thr2]
                if good:
                    idx, h, slope = max(good, key=lambda p: p[1])
                    spk = 0.25 * h + 0.75 * spk
                    rr = (rr + [idx - last])[-8:]
                    last, last_slope = idx, slope
                    beats.append(idx)
                    pending = [p for p in pending if p[0] > idx]
                else:
                    pending = []
    return beats


def main():
    path, fs = sys.argv[1], float(sys.argv[2])
    samples = array.array("f")
    with open(path, "rb") as f:
        samples.frombytes(f.read())
    if sys.byteorder != "little":
        samples.byteswap()
    start = time.perf_counter()
    beats = detect(samples, fs)
    seconds = time.perf_counter() - start
    print(json.dumps({"samples": len(samples), "seconds": seconds, "beats": len(beats)}))


if __name__ == "__main__":
    main()
