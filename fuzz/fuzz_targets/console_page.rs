//! The console page's inputs from a browser: any text as a page message (`PageMessage::decode`),
//! what decodes driving the browser master (its sample stays finite and bounded, whatever the
//! order of hands, clutches and silences), the video socket's paint reports (what parses drives
//! the capture pacer, whose shifts are later by less than a refresh period), and the sign-in guard's
//! query and cookie parsing; none of it may panic.
#![no_main]

use console::browser_input::{BrowserMaster, MAX_REACH_M, PageMessage};
use console::capture_pacer::{CapturePacer, PaintReport};
use libfuzzer_sys::fuzz_target;
use robot::Pose;
use std::time::Duration;

const ORIGIN: Pose = Pose {
    position: [0.0, 0.0, -0.1],
    rotation: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = webui::access::query_value(Some(&text), "token");
    let mut headers = webui::axum_http::HeaderMap::new();
    if let Ok(value) = webui::axum_http::HeaderValue::from_bytes(data) {
        headers.insert(webui::axum_http::header::COOKIE, value.clone());
        headers.insert(webui::axum_http::header::ORIGIN, value);
        let _ = webui::access::same_origin(&headers);
    }
    let mut pacer = CapturePacer::default();
    for line in text.lines() {
        if let Ok(report) = PaintReport::parse(line)
            && let Some(shift_us) = pacer.on_report(&report)
        {
            let half_period_us = report.display_period_ms * 500.0;
            assert!(
                (shift_us as f64).abs() <= half_period_us + 1.0,
                "{shift_us}"
            );
        }
    }
    let mut master = BrowserMaster::new(ORIGIN, Duration::from_millis(60));
    let page = master.attach();
    // Each line is one message, 7 ms apart; a line starting with '.' is a silence of 100 ms.
    let mut now = Duration::ZERO;
    for line in text.lines() {
        now += Duration::from_millis(if line.starts_with('.') { 100 } else { 7 });
        if let Ok(PageMessage::Hand {
            position,
            jaw_rad,
            clutch,
        }) = PageMessage::decode(line)
        {
            master.on_hand(page, position, jaw_rad, clutch, now);
        }
        if let Some(sample) = master.sample(now) {
            let offset: f64 = sample
                .position
                .iter()
                .zip(ORIGIN.position)
                .map(|(p, o)| (p - o) * (p - o))
                .sum::<f64>()
                .sqrt();
            // Clutching ratchets the master (as a mouse is lifted and put down again), so it may
            // wander; each message moves it by at most two reaches.
            let steps = text.lines().count() as f64 + 1.0;
            assert!(offset.is_finite(), "{sample:?}");
            assert!(offset <= 2.0 * MAX_REACH_M * steps + 1e-9, "{sample:?}");
        }
    }
});
