//! PNG pictures of a HIFU run: colour-mapped slices with the lesion outline, and a time trace.

use anyhow::Context;
use std::path::Path;

/// An RGB image being drawn.
pub struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, background: [u8; 3]) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![background; width * height],
        }
    }

    pub fn set(&mut self, x: usize, y: usize, colour: [u8; 3]) {
        if x < self.width && y < self.height {
            self.pixels[y * self.width + x] = colour;
        }
    }

    /// A straight line by simple stepping (enough for plots).
    pub fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), colour: [u8; 3]) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as usize;
        for i in 0..=steps {
            let t = i as f64 / steps as f64;
            let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
            if x >= 0.0 && y >= 0.0 {
                self.set(x.round() as usize, y.round() as usize, colour);
            }
        }
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut encoder = png::Encoder::new(
            std::io::BufWriter::new(file),
            self.width as u32,
            self.height as u32,
        );
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.pixels.concat())?;
        Ok(())
    }
}

/// A perceptual dark-to-bright colour map (black, purple, red, orange, pale yellow) for t in [0, 1].
pub fn heat_colour(t: f64) -> [u8; 3] {
    const STOPS: [[f64; 3]; 5] = [
        [0.0, 0.0, 4.0],
        [87.0, 16.0, 110.0],
        [188.0, 55.0, 84.0],
        [249.0, 142.0, 9.0],
        [252.0, 255.0, 164.0],
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    [0, 1, 2].map(|c| (STOPS[i][c] * (1.0 - f) + STOPS[i + 1][c] * f).round() as u8)
}

/// A 2D map (`width` × `height`, first index fastest) drawn `scale` pixels per cell, with the
/// boundary of `mask` outlined in white.
pub struct SliceImage<'a> {
    pub width: usize,
    pub height: usize,
    pub values: &'a [f32],
    pub mask: &'a [bool],
    pub range: (f64, f64),
    pub scale: usize,
}

impl SliceImage<'_> {
    pub fn draw(&self) -> Canvas {
        let mut canvas = Canvas::new(self.width * self.scale, self.height * self.scale, [0, 0, 0]);
        let (low, high) = self.range;
        let inside = |x: isize, y: isize| {
            x >= 0
                && y >= 0
                && (x as usize) < self.width
                && (y as usize) < self.height
                && self.mask[y as usize * self.width + x as usize]
        };
        for y in 0..self.height {
            for x in 0..self.width {
                let value = f64::from(self.values[y * self.width + x]);
                let (xi, yi) = (x as isize, y as isize);
                let edge = inside(xi, yi)
                    && [(1, 0), (-1, 0), (0, 1), (0, -1)]
                        .iter()
                        .any(|(dx, dy)| !inside(xi + dx, yi + dy));
                let colour = if edge {
                    [255, 255, 255]
                } else {
                    heat_colour((value - low) / (high - low))
                };
                for py in 0..self.scale {
                    for px in 0..self.scale {
                        canvas.set(x * self.scale + px, y * self.scale + py, colour);
                    }
                }
            }
        }
        canvas
    }
}

/// A line plot of (x, y) points with light guide lines at `guides` (y values).
pub fn plot(points: &[(f32, f32)], (y_low, y_high): (f64, f64), guides: &[f64]) -> Canvas {
    let (width, height, margin) = (900usize, 320usize, 20.0);
    let mut canvas = Canvas::new(width, height, [255, 255, 255]);
    let x_high = points.last().map_or(1.0, |p| f64::from(p.0)).max(1e-9);
    let to_pixel = |x: f64, y: f64| {
        let px = margin + x / x_high * (width as f64 - 2.0 * margin);
        let py = height as f64
            - margin
            - (y - y_low) / (y_high - y_low) * (height as f64 - 2.0 * margin);
        (px, py.clamp(0.0, height as f64 - 1.0))
    };
    for &guide in guides {
        canvas.line(
            to_pixel(0.0, guide),
            to_pixel(x_high, guide),
            [200, 200, 200],
        );
    }
    canvas.line(to_pixel(0.0, y_low), to_pixel(x_high, y_low), [0, 0, 0]);
    canvas.line(to_pixel(0.0, y_low), to_pixel(0.0, y_high), [0, 0, 0]);
    let stride = (points.len() / (4 * width)).max(1);
    let sampled: Vec<(f64, f64)> = points
        .iter()
        .step_by(stride)
        .map(|&(x, y)| to_pixel(f64::from(x), f64::from(y)))
        .collect();
    for pair in sampled.windows(2) {
        canvas.line(pair[0], pair[1], [200, 30, 30]);
    }
    canvas
}
