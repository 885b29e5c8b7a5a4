//! The console's edge of the remote HIFU procedure (`medlink console --hifu PLAN`): the operator
//! core (`teleop::hifu::operator`) runs the plan; this sends the plan on a bulk stream, reads the
//! station's thermometry frames from theirs (a malformed one is counted and skipped), takes the
//! operator's typed commands and shows the live view through the caller's callback.

use bytes::Bytes;
use hifu::plan::Plan;
use std::time::Duration;
use teleop::hifu::operator::{HifuOperator, HifuStatus, OperatorCommand, OperatorStep};
use teleop::hifu::{BulkMessage, HifuNews};
use tokio::sync::mpsc;

/// What the caller shows: the status line, or a line of news (a spot started, a stop and why).
pub enum HifuView<'a> {
    Status(&'a HifuStatus),
    News(String),
}

/// The HIFU procedure a console run carries out instead of a scripted arm motion.
pub struct HifuControls {
    pub plan: Plan,
    /// The operator's typed commands (pause, resume, stop, ack).
    pub commands: Option<std::sync::mpsc::Receiver<OperatorCommand>>,
    /// Called with the live view at most every `view_interval`, and with each piece of news.
    pub view: Box<dyn FnMut(HifuView<'_>) + Send>,
    pub view_interval: Duration,
    /// For the plan's closed loop (`planner.closed_loop`): each spot's focus voxel on the patient
    /// model's grid, and the grid's spacing (mm).
    pub foci: Option<(Vec<[usize; 3]>, f64)>,
}

/// The procedure's state inside a console run.
pub(crate) struct HifuRun {
    pub operator: HifuOperator,
    controls: HifuControls,
    last_view: Option<std::time::Instant>,
}

impl HifuRun {
    pub fn new(controls: HifuControls) -> Self {
        Self {
            operator: match controls.foci.clone() {
                Some((foci, spacing_mm)) => {
                    HifuOperator::new(controls.plan.clone()).with_closed_loop(foci, spacing_mm)
                }
                None => HifuOperator::new(controls.plan.clone()),
            },
            controls,
            last_view: None,
        }
    }

    /// Typed commands waiting, handed to the operator.
    pub fn take_commands(&mut self) {
        while let Some(command) = self
            .controls
            .commands
            .as_ref()
            .and_then(|c| c.try_recv().ok())
        {
            self.operator.on_command(command);
        }
    }

    pub fn on_news(&mut self, news: &HifuNews, now: Duration) {
        self.operator.on_news(news, now);
        if let Some(line) = news.describe() {
            (self.controls.view)(HifuView::News(line));
        }
    }

    /// Shows the status line when it is due.
    pub fn show(&mut self) {
        let due = self
            .last_view
            .is_none_or(|at| at.elapsed() >= self.controls.view_interval);
        if due {
            self.last_view = Some(std::time::Instant::now());
            let status = self.operator.status();
            (self.controls.view)(HifuView::Status(&status));
        }
    }

    pub fn poll(&mut self, now: Duration) -> Option<OperatorStep> {
        self.operator.poll(now)
    }
}

/// Sends the plan on a bulk stream of its own.
pub(crate) async fn send_plan(connection: quinn::Connection, plan: Plan) -> Result<(), String> {
    let mut bytes = Vec::new();
    proto::encode_frame_within(
        &BulkMessage::Plan(Box::new(plan)),
        proto::frame::MAX_BULK_FRAME_LEN,
        &mut bytes,
    )
    .map_err(|e| format!("the plan cannot be sent: {e}"))?;
    let mut stream = connection.open_uni().await.map_err(|e| e.to_string())?;
    stream
        .write_chunk(Bytes::from(bytes))
        .await
        .map_err(|e| e.to_string())?;
    stream.finish().map_err(|e| e.to_string())
}

/// Reads the station's bulk streams (thermometry frames) until the connection ends; video
/// frames, told apart by their first bytes, go to `video` (each on a task of its own, so a slow
/// frame never holds up a newer one).
pub(crate) async fn read_frames<N: Send + 'static>(
    connection: quinn::Connection,
    tx: mpsc::UnboundedSender<N>,
    wrap: impl Fn(hifu::device::ThermometryFrame) -> N,
    video: Option<crate::video::VideoFeed>,
) {
    if let Some(video) = &video {
        video.on_connected();
    }
    while let Ok(mut stream) = connection.accept_uni().await {
        let mut first = [0u8; 4];
        if stream.read_exact(&mut first).await.is_err() {
            continue;
        }
        if proto::video::is_video_stream(&first) {
            if let Some(video) = &video {
                tokio::spawn(crate::video::read_frame(stream, first, video.clone()));
            }
            continue;
        }
        // A frame reset because a newer one followed is simply skipped.
        let Ok(rest) = stream.read_to_end(proto::frame::MAX_BULK_FRAME_LEN).await else {
            continue;
        };
        let mut bytes = first.to_vec();
        bytes.extend_from_slice(&rest);
        let mut decoder = proto::FrameDecoder::within(proto::frame::MAX_BULK_FRAME_LEN);
        decoder.push(&bytes);
        match decoder.next_message::<BulkMessage>() {
            Some(Ok(BulkMessage::Thermometry(frame))) => {
                if tx.send(wrap(*frame)).is_err() {
                    return;
                }
            }
            _ => tracing::debug!("skipping a bulk stream that is not a thermometry frame"),
        }
    }
}
