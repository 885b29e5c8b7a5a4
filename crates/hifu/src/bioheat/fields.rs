//! Borrowed views the solver loops work on: the three temperature planes a row update reads, and the
//! output fields (new temperature, CEM43 dose, optional Arrhenius damage) it writes, split by planes.

/// The temperature planes below, at and above the row being updated (each a whole nx × ny plane).
pub(super) struct Around<'a> {
    pub below: &'a [f32],
    pub centre: &'a [f32],
    pub above: &'a [f32],
}

/// The fields an update writes, over the same run of voxels; `damage` is empty when Ω is not tracked.
pub(super) struct Fields<'a> {
    pub temperature: &'a mut [f32],
    pub dose: &'a mut [f32],
    pub damage: &'a mut [f32],
}

impl<'a> Fields<'a> {
    /// Consecutive runs of `lens` voxels each (the last run takes what is left).
    pub fn split_runs(self, lens: &[usize]) -> Vec<Fields<'a>> {
        let damage = if self.damage.is_empty() {
            std::iter::repeat_with(|| -> &mut [f32] { &mut [] })
                .take(lens.len() + 1)
                .collect()
        } else {
            split_runs(self.damage, lens)
        };
        split_runs(self.temperature, lens)
            .into_iter()
            .zip(split_runs(self.dose, lens))
            .zip(damage)
            .map(|((temperature, dose), damage)| Fields {
                temperature,
                dose,
                damage,
            })
            .collect()
    }

    /// Runs of `len` voxels each (whole planes when `len` is a plane).
    pub fn split_into(self, len: usize) -> Vec<Fields<'a>> {
        let count = self.temperature.len() / len.max(1);
        self.split_runs(&vec![len; count.saturating_sub(1)])
    }

    /// `len` voxels from `start`, reborrowed.
    pub fn row(&mut self, start: usize, len: usize) -> Fields<'_> {
        let range = start..start + len;
        Fields {
            temperature: &mut self.temperature[range.clone()],
            dose: &mut self.dose[range.clone()],
            damage: if self.damage.is_empty() {
                &mut []
            } else {
                &mut self.damage[range]
            },
        }
    }
}

/// Consecutive runs of `lens` values each (the last run takes what is left).
pub(super) fn split_runs<'a>(mut values: &'a mut [f32], lens: &[usize]) -> Vec<&'a mut [f32]> {
    let mut runs = Vec::with_capacity(lens.len() + 1);
    for &len in lens {
        let (run, rest) = values.split_at_mut(len.min(values.len()));
        runs.push(run);
        values = rest;
    }
    runs.push(values);
    runs
}
