//! Draws an ECG strip as a PNG: paper grid, the trace, detected beats (red, above the trace) and
//! reference beats (blue, below), one row per 10 s.

use anyhow::Context;

const PIXELS_PER_SECOND: f64 = 100.0;
const PIXELS_PER_MV: f64 = 60.0;
const ROW_SECONDS: f64 = 10.0;
const ROW_HEIGHT: usize = 240;
const WIDTH: usize = (PIXELS_PER_SECOND * ROW_SECONDS) as usize;

const PAPER: [u8; 3] = [255, 250, 250];
const MINOR_GRID: [u8; 3] = [250, 220, 220];
const MAJOR_GRID: [u8; 3] = [235, 160, 160];
const TRACE: [u8; 3] = [20, 20, 20];
const DETECTED: [u8; 3] = [220, 0, 0];
const REFERENCE: [u8; 3] = [0, 70, 220];

/// What to draw.
pub struct Strip<'a> {
    pub signal: &'a [f32],
    pub sample_rate_hz: f64,
    pub start_sample: usize,
    pub length: usize,
    pub detected: &'a [u64],
    pub reference: &'a [u64],
}

struct Canvas {
    pixels: Vec<u8>,
    height: usize,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, colour: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < WIDTH && (y as usize) < self.height {
            let at = (y as usize * WIDTH + x as usize) * 3;
            self.pixels[at..at + 3].copy_from_slice(&colour);
        }
    }

    fn line(&mut self, from: (i64, i64), to: (i64, i64), colour: [u8; 3]) {
        let (dx, dy) = ((to.0 - from.0).abs(), -(to.1 - from.1).abs());
        let (sx, sy) = ((to.0 - from.0).signum(), (to.1 - from.1).signum());
        let (mut x, mut y, mut error) = (from.0, from.1, dx + dy);
        loop {
            self.set(x, y, colour);
            if (x, y) == to {
                break;
            }
            let doubled = 2 * error;
            if doubled >= dy {
                error += dy;
                x += sx;
            }
            if doubled <= dx {
                error += dx;
                y += sy;
            }
        }
    }
}

/// Renders the strip and encodes it as PNG bytes.
pub fn render(strip: &Strip) -> anyhow::Result<Vec<u8>> {
    let seconds = strip.length as f64 / strip.sample_rate_hz;
    let rows = (seconds / ROW_SECONDS).ceil().max(1.0) as usize;
    let height = rows * ROW_HEIGHT;
    let mut canvas = Canvas {
        pixels: PAPER.repeat(WIDTH * height),
        height,
    };
    draw_grid(&mut canvas);
    let row_samples = (ROW_SECONDS * strip.sample_rate_hz) as usize;
    let end = (strip.start_sample + strip.length).min(strip.signal.len());
    for row in 0..rows {
        let first = strip.start_sample + row * row_samples;
        let last = (first + row_samples).min(end);
        if first >= last {
            break;
        }
        draw_row(&mut canvas, strip, row, first, last);
    }
    encode(&canvas)
}

fn draw_grid(canvas: &mut Canvas) {
    let minor = (PIXELS_PER_SECOND * 0.04) as usize;
    for x in (0..WIDTH).step_by(minor) {
        let colour = if x % (minor * 5) == 0 {
            MAJOR_GRID
        } else {
            MINOR_GRID
        };
        canvas.line((x as i64, 0), (x as i64, canvas.height as i64 - 1), colour);
    }
    let minor_y = PIXELS_PER_MV * 0.1;
    let lines = (canvas.height as f64 / minor_y) as usize;
    for k in 0..=lines {
        let y = (k as f64 * minor_y).round() as i64;
        let colour = if k % 5 == 0 { MAJOR_GRID } else { MINOR_GRID };
        canvas.line((0, y), (WIDTH as i64 - 1, y), colour);
    }
}

fn draw_row(canvas: &mut Canvas, strip: &Strip, row: usize, first: usize, last: usize) {
    let top = (row * ROW_HEIGHT) as i64;
    let window = &strip.signal[first..last];
    let mut finite: Vec<f32> = window.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_by(f32::total_cmp);
    let centre = finite.get(finite.len() / 2).copied().unwrap_or(0.0);
    let x_of = |i: usize| ((i - first) as f64 / strip.sample_rate_hz * PIXELS_PER_SECOND) as i64;
    let y_of = |v: f32| {
        let y = top + ROW_HEIGHT as i64 * 3 / 5 - (f64::from(v - centre) * PIXELS_PER_MV) as i64;
        y.clamp(top, top + ROW_HEIGHT as i64 - 1)
    };
    let mut previous: Option<(i64, i64)> = None;
    for (offset, &value) in window.iter().enumerate() {
        if !value.is_finite() {
            previous = None;
            continue;
        }
        let point = (x_of(first + offset), y_of(value));
        canvas.line(previous.unwrap_or(point), point, TRACE);
        previous = Some(point);
    }
    let in_row = |beats: &'_ [u64]| -> Vec<i64> {
        beats
            .iter()
            .filter(|&&b| (first as u64..last as u64).contains(&b))
            .map(|&b| x_of(b as usize))
            .collect()
    };
    for x in in_row(strip.detected) {
        marker(canvas, x, top + 4, 1, DETECTED);
    }
    for x in in_row(strip.reference) {
        marker(canvas, x, top + ROW_HEIGHT as i64 - 5, -1, REFERENCE);
    }
}

/// A small filled triangle pointing down (`direction` 1) or up (-1) at the trace.
fn marker(canvas: &mut Canvas, x: i64, y: i64, direction: i64, colour: [u8; 3]) {
    for k in 0..8i64 {
        let half = 7 - k;
        canvas.line(
            (x - half, y + direction * k),
            (x + half, y + direction * k),
            colour,
        );
    }
}

fn encode(canvas: &Canvas) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, WIDTH as u32, canvas.height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().context("starting the PNG")?;
    writer
        .write_image_data(&canvas.pixels)
        .context("writing the PNG")?;
    writer.finish().context("finishing the PNG")?;
    Ok(bytes)
}
