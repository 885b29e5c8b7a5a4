//! Recording a role's session core (`--record DIR`): starts the MCAP recorder whose tap the role
//! puts at its core's entry point, and finishes it when the role stops, saying where it went.

use recorder::{QueueTap, Recorder, RecorderConfig, RecorderError};
use std::path::Path;
use teleop::{
    ConsoleInput, ConsoleOutput, ConsoleSessionConfig, StationInput, StationOutput,
    StationSessionConfig,
};

/// A session core's configuration, which a recording stores so a replay can rebuild the core.
pub trait Recordable {
    type Input;
    type Output;
    fn recorder_config(&self, dir: &Path) -> Result<RecorderConfig, RecorderError>;
}

impl Recordable for StationSessionConfig {
    type Input = StationInput;
    type Output = StationOutput;
    fn recorder_config(&self, dir: &Path) -> Result<RecorderConfig, RecorderError> {
        RecorderConfig::station(dir, self)
    }
}

impl Recordable for ConsoleSessionConfig {
    type Input = ConsoleInput;
    type Output = ConsoleOutput;
    fn recorder_config(&self, dir: &Path) -> Result<RecorderConfig, RecorderError> {
        RecorderConfig::console(dir, self)
    }
}

/// Starts recording into `dir` (nothing when `None`); the recorder goes into `slot` for `finish`.
pub fn start<C>(
    dir: Option<&Path>,
    config: &C,
    slot: &mut Option<Recorder<C::Input, C::Output>>,
) -> anyhow::Result<Option<QueueTap<C::Input, C::Output>>>
where
    C: Recordable,
    C::Input: serde::Serialize + Clone + Send + 'static,
    C::Output: serde::Serialize + Clone + Send + 'static,
{
    let Some(dir) = dir else {
        return Ok(None);
    };
    let (recorder, tap) = Recorder::start(config.recorder_config(dir)?)?;
    tracing::info!(file = %recorder.first_file().display(), "recording the session");
    *slot = Some(recorder);
    Ok(Some(tap))
}

/// Finishes a recording and says where it is and whether it is complete.
pub fn finish<I, O>(recorder: Option<Recorder<I, O>>) -> anyhow::Result<()> {
    let Some(recorder) = recorder else {
        return Ok(());
    };
    let summary = recorder.finish()?;
    for file in &summary.files {
        eprintln!(
            "recorded {} inputs and {} outputs: {}",
            summary.inputs,
            summary.outputs,
            file.display()
        );
    }
    anyhow::ensure!(
        summary.complete(),
        "the recording lost {} records (the recorder fell behind): it cannot be replayed",
        summary.dropped
    );
    Ok(())
}
