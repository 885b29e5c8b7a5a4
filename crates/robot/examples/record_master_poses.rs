//! Writes the first 4 s of the suturing script (seed 1) at 100 Hz as a master-pose CSV on stdout;
//! this is how examples/master_poses.csv at the repository root was made.

use robot::geometry::Pose;
use robot::script::{MasterInput, SurgicalScript, write_csv};

/// The suturing script cut to its first `duration_s` seconds.
struct FirstSeconds {
    script: SurgicalScript,
    duration_s: f64,
}

impl MasterInput for FirstSeconds {
    fn pose_at(&self, t_s: f64) -> Option<Pose> {
        (t_s <= self.duration_s)
            .then(|| self.script.pose_at(t_s))
            .flatten()
    }

    fn jaw_at(&self, t_s: f64) -> Option<f64> {
        (t_s <= self.duration_s)
            .then(|| self.script.jaw_at(t_s))
            .flatten()
    }

    fn duration_s(&self) -> f64 {
        self.duration_s
    }
}

fn main() -> std::io::Result<()> {
    let input = FirstSeconds {
        script: SurgicalScript::suturing(1),
        duration_s: 4.0,
    };
    write_csv(&input, 100.0, std::io::stdout().lock())
}
