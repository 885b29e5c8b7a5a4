//! Latency recording with pre-allocated storage (no allocation per sample) and percentiles.

use serde::{Deserialize, Serialize};

/// Percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub count: usize,
}

pub struct LatencyRecorder {
    samples_ns: Vec<u64>,
    overflow: u64,
}

impl LatencyRecorder {
    /// Keeps up to `capacity` samples; later ones are counted but not kept.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            samples_ns: Vec::with_capacity(capacity),
            overflow: 0,
        }
    }

    pub fn record_ns(&mut self, ns: u64) {
        if self.samples_ns.len() < self.samples_ns.capacity() {
            self.samples_ns.push(ns);
        } else {
            self.overflow += 1;
        }
    }

    /// Forgets every sample, keeping the storage (no allocation).
    pub fn clear(&mut self) {
        self.samples_ns.clear();
        self.overflow = 0;
    }

    pub fn len(&self) -> usize {
        self.samples_ns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples_ns.is_empty()
    }

    /// Nearest-rank percentiles in µs (zeros when empty).
    pub fn percentiles(&self) -> Percentiles {
        let mut sorted = self.samples_ns.clone();
        sorted.sort_unstable();
        let rank = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[i] as f64 / 1e3
        };
        Percentiles {
            p50: rank(0.5),
            p99: rank(0.99),
            p999: rank(0.999),
            max: rank(1.0),
            count: sorted.len(),
        }
    }
}

/// A histogram with 1 µs bins that one thread writes and another reads, without a lock or an
/// allocation after construction. Values past the last bin land in it.
pub struct AtomicHistogram {
    bins: Vec<std::sync::atomic::AtomicU64>,
}

impl AtomicHistogram {
    /// Bins for 0..=`max_us` µs.
    pub fn new(max_us: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            bins: (0..=max_us)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        })
    }

    pub fn record_us(&self, us: i64) {
        let last = self.bins.len() - 1;
        let bin = us.clamp(0, last as i64) as usize;
        self.bins[bin].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Nearest-rank percentiles in µs, as `LatencyRecorder` gives them.
    pub fn percentiles(&self) -> Percentiles {
        let counts: Vec<u64> = self
            .bins
            .iter()
            .map(|b| b.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let rank = |q: f64| -> f64 {
            if total == 0 {
                return 0.0;
            }
            let wanted = ((q * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            for (us, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= wanted {
                    return us as f64;
                }
            }
            (counts.len() - 1) as f64
        };
        Percentiles {
            p50: rank(0.5),
            p99: rank(0.99),
            p999: rank(0.999),
            max: rank(1.0),
            count: total as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut r = LatencyRecorder::with_capacity(1000);
        for i in 1..=1000 {
            r.record_ns(i * 1000);
        }
        let p = r.percentiles();
        assert_eq!((p.p50, p.p99, p.p999, p.max), (500.0, 990.0, 999.0, 1000.0));
    }

    #[test]
    fn the_atomic_histogram_ranks_like_the_recorder() {
        let h = AtomicHistogram::new(2000);
        for i in 1..=1000 {
            h.record_us(i);
        }
        h.record_us(5000);
        let p = h.percentiles();
        assert_eq!((p.p50, p.max, p.count), (501.0, 2000.0, 1001));
    }

    #[test]
    fn samples_beyond_capacity_are_not_kept() {
        let mut r = LatencyRecorder::with_capacity(2);
        for i in 0..5 {
            r.record_ns(i);
        }
        assert_eq!(r.len(), 2);
    }
}
