//! Fuzzes what a console can send on the bulk channel: the frame decoder at the bulk size limit,
//! the bulk message inside (a HIFU plan, as the station parses it), the station's plan checks
//! against its own model, and the HIFU requests of the event stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teleop::hifu::{BulkMessage, HifuRequest, PlanLimits, validate_plan};

fuzz_target!(|data: &[u8]| {
    let mut frames = proto::FrameDecoder::within(proto::frame::MAX_BULK_FRAME_LEN);
    for chunk in data.chunks(13) {
        frames.push(chunk);
        while let Some(Ok(_)) = frames.next_message::<BulkMessage>() {}
    }
    let _ = serde_json::from_slice::<HifuRequest>(data);
    if let Ok(BulkMessage::Plan(plan)) = serde_json::from_slice::<BulkMessage>(data) {
        let reference = plan.as_ref().clone();
        let _ = validate_plan(&plan, &reference, &PlanLimits::default(), &Default::default());
    }
});
