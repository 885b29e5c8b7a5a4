//! The simulated endoscope: the instrument is drawn where the measured pose puts it (pixels), the
//! H.264 encoder's pictures decode back to the picture (OpenH264's decoder), the bitrate follows
//! a target set between frames, and keyframes come when asked.

use openh264::decoder::Decoder;
use station::camera::encoder::H264Encoder;
use station::camera::pose_cell::MeasuredPose;
use station::camera::scene::{CameraView, Scene};

const W: usize = 640;
const H: usize = 360;

/// The start pose of the dVRK arm: tip 11.35 cm below the remote centre, shaft straight down.
fn pose(tip_m: [f64; 3]) -> MeasuredPose {
    // Rotation with columns x = (0, 1, 0), y = (1, 0, 0), z = (0, 0, -1) (the arm's start).
    let h = std::f64::consts::FRAC_1_SQRT_2;
    MeasuredPose {
        station_time_us: 0,
        applied_seq: 1,
        tip_m,
        quaternion_xyzw: [h, h, 0.0, 0.0],
    }
}

fn pixel(rgb: &[u8], (col, row): (f64, f64)) -> [u8; 3] {
    let i = (row as usize * W + col as usize) * 3;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Tissue is red; the instrument is grey or black.
fn is_instrument(p: [u8; 3]) -> bool {
    let [r, g, b] = p.map(i32::from);
    (r - g).abs() < 25 && (r - b).abs() < 25
}

#[test]
fn the_instrument_is_drawn_where_the_measured_pose_says() {
    let mut scene = Scene::new(&CameraView::default(), W, H);
    let projection = *scene.projection();
    let here = [0.0, 0.0, -0.1135];
    let there = [0.015, 0.01, -0.11];
    // A point on the shaft 2 cm above each tip.
    let shaft = |tip: [f64; 3]| [tip[0], tip[1], tip[2] + 0.02];
    let (at_here, at_there) = (
        projection.project(shaft(here)).unwrap(),
        projection.project(shaft(there)).unwrap(),
    );
    assert!((at_here.0 - at_there.0).hypot(at_here.1 - at_there.1) > 30.0);
    let empty = scene.render(None).to_vec();
    assert!(!is_instrument(pixel(&empty, at_here)));
    assert!(!is_instrument(pixel(&empty, at_there)));

    let first = scene.render(Some(&pose(here))).to_vec();
    assert!(
        is_instrument(pixel(&first, at_here)),
        "{:?}",
        pixel(&first, at_here)
    );
    assert!(!is_instrument(pixel(&first, at_there)));

    let moved = scene.render(Some(&pose(there))).to_vec();
    assert!(is_instrument(pixel(&moved, at_there)));
    assert!(!is_instrument(pixel(&moved, at_here)));
    if let Ok(dir) = std::env::var("MEDLINK_CAMERA_PPM") {
        let mut ppm = format!("P6 {W} {H} 255\n").into_bytes();
        ppm.extend_from_slice(&first);
        std::fs::write(format!("{dir}/camera-frame.ppm"), ppm).unwrap();
    }
}

#[test]
fn encoded_frames_decode_back_to_the_picture() {
    let mut scene = Scene::new(&CameraView::default(), W, H);
    let mut encoder = H264Encoder::new(W, H, 30.0, 2_000_000, 0).unwrap();
    let mut decoder = Decoder::new().unwrap();
    let mut rgb_out = vec![0u8; W * H * 3];
    let mut keyframes = 0;
    for i in 0..30 {
        let tip = [0.0005 * i as f64, 0.0, -0.1135];
        let picture = scene.render(Some(&pose(tip))).to_vec();
        if i == 20 {
            encoder.request_keyframe();
        }
        let encoded = encoder.encode(&picture).unwrap();
        assert!(!encoded.data.is_empty());
        if encoded.keyframe {
            keyframes += 1;
            assert_eq!(
                proto::video::h264_codec_string(&encoded.data).as_deref(),
                Some("avc1.42c01f")
            );
        }
        assert_eq!(encoded.keyframe, i == 0 || i == 20, "frame {i}");
        let decoded = decoder
            .decode(&encoded.data)
            .unwrap()
            .expect("a picture per frame");
        decoded.write_rgb8(&mut rgb_out);
        // Mean absolute error per channel: a faithful picture, not a grey one.
        let error: u64 = picture
            .iter()
            .zip(&rgb_out)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = error as f64 / picture.len() as f64;
        assert!(mean < 6.0, "frame {i}: mean error {mean}");
    }
    assert_eq!(keyframes, 2);
}

#[test]
fn the_bitrate_follows_its_target() {
    let mut scene = Scene::new(&CameraView::default(), W, H);
    let mut encoder = H264Encoder::new(W, H, 30.0, 3_000_000, 0).unwrap();
    let mut bytes_at = |encoder: &mut H264Encoder, from: usize| -> usize {
        (from..from + 60)
            .map(|i| {
                // A tool sweeping and a picture with fresh detail each frame (sensor noise).
                let tip = [
                    0.01 * (i as f64 * 0.3).sin(),
                    0.01 * (i as f64 * 0.2).cos(),
                    -0.113,
                ];
                let mut picture = scene.render(Some(&pose(tip))).to_vec();
                for (k, p) in picture.iter_mut().enumerate() {
                    let noise = ((k * 2_654_435_761 + i * 97) >> 7) % 17;
                    *p = p.saturating_add(noise as u8);
                }
                encoder.encode(&picture).unwrap().data.len()
            })
            .sum()
    };
    let _ = bytes_at(&mut encoder, 0);
    let high = bytes_at(&mut encoder, 60);
    encoder.set_bitrate(300_000).unwrap();
    let _ = bytes_at(&mut encoder, 120);
    let low = bytes_at(&mut encoder, 180);
    assert_eq!(encoder.bitrate_bps(), 300_000);
    assert!(
        low * 2 < high,
        "{low} bytes at 0.3 Mbit/s vs {high} at 3 Mbit/s"
    );
}

#[test]
fn the_bitrate_goes_down_after_it_went_up() {
    // The rate controller raises the bitrate a little each frame and cuts it on a late frame:
    // every change either way must be taken (OpenH264 refuses a ceiling below the target).
    let mut encoder = H264Encoder::new(W, H, 30.0, 1_000_000, 0).unwrap();
    let mut scene = Scene::new(&CameraView::default(), W, H);
    // OpenH264 starts at the first picture (before it, every option is refused).
    encoder.encode(scene.render(None)).unwrap();
    for bps in [2_000_000, 1_500_000, 3_000_000, 500_000, 510_000, 250_000] {
        encoder
            .set_bitrate(bps)
            .unwrap_or_else(|e| panic!("set_bitrate({bps}): {e}"));
        assert_eq!(encoder.bitrate_bps(), bps);
        encoder.encode(scene.render(None)).unwrap();
    }
}

#[test]
fn the_level_carries_the_frame_rate() {
    // 720p: level 3.1 up to 30 fps, 3.2 above (the WebCodecs codec string the page configures).
    let mut scene = Scene::new(&CameraView::default(), 1280, 720);
    for (fps, codec) in [(30.0, "avc1.42c01f"), (60.0, "avc1.42c020")] {
        let mut encoder = H264Encoder::new(1280, 720, fps, 2_000_000, 0).unwrap();
        let keyframe = encoder.encode(scene.render(None)).unwrap();
        assert!(keyframe.keyframe);
        assert_eq!(
            proto::video::h264_codec_string(&keyframe.data).as_deref(),
            Some(codec),
            "{fps} fps"
        );
    }
}
