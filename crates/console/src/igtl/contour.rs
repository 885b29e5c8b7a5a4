//! A closed contour from an OpenIGTLink peer (a POINT list named `Contour`, docs/igtl.md): the
//! points, in order, are the corners of a simple polygon in one axial slice of the HIFU grid
//! frame (mm, constant z, the plane of the thermal IMAGEs). `SlicePolygon::new` refuses a
//! degenerate one with the reason: fewer than 3 corners, corners not in one slice, zero area, or
//! edges that cross. Pure geometry: inside test and distance to the outline.

/// A simple polygon in the slice `z_mm`, corners in the peer's order (either orientation).
#[derive(Debug, Clone, PartialEq)]
pub struct SlicePolygon {
    pub corners: Vec<[f64; 2]>,
    pub z_mm: f64,
}

/// Areas (mm²) at or below this are zero: the corners are collinear.
const ZERO_AREA_MM2: f64 = 1e-6;

impl SlicePolygon {
    /// The polygon through `points` (name, position in mm); a last point repeating the first
    /// (a peer closing the loop explicitly) is dropped. `slice_tolerance_mm`: how far apart in z
    /// the corners may be and still be one slice.
    pub fn new(
        points: &[(String, [f32; 3])],
        slice_tolerance_mm: f64,
    ) -> Result<SlicePolygon, String> {
        let mut points: Vec<(&str, [f64; 3])> = points
            .iter()
            .map(|(name, p)| (name.as_str(), p.map(f64::from)))
            .collect();
        if points.len() > 1 && points[0].1 == points[points.len() - 1].1 {
            points.pop();
        }
        if points.len() < 3 {
            return Err(format!(
                "a contour needs 3 points or more, it has {}",
                points.len()
            ));
        }
        if let Some((name, _)) = points
            .iter()
            .find(|(_, p)| !p.iter().all(|v| v.is_finite()))
        {
            return Err(format!("point {name:?} is not a finite position"));
        }
        let low = points
            .iter()
            .map(|(_, p)| p[2])
            .fold(f64::INFINITY, f64::min);
        let high = points
            .iter()
            .map(|(_, p)| p[2])
            .fold(f64::NEG_INFINITY, f64::max);
        if high - low > slice_tolerance_mm {
            return Err(format!(
                "the contour is not in one slice: z from {low:.2} to {high:.2} mm (tolerance \
                 {slice_tolerance_mm:.2} mm); draw it on the thermal slice"
            ));
        }
        let polygon = SlicePolygon {
            corners: points.iter().map(|(_, p)| [p[0], p[1]]).collect(),
            z_mm: (low + high) / 2.0,
        };
        for k in 0..polygon.corners.len() {
            let next = (k + 1) % polygon.corners.len();
            if polygon.corners[k] == polygon.corners[next] {
                return Err(format!(
                    "points {:?} and {:?} coincide",
                    points[k].0, points[next].0
                ));
            }
        }
        let no_area = polygon.area_mm2() <= ZERO_AREA_MM2;
        if no_area && polygon.on_one_line() {
            return Err("the contour encloses no area: its points lie on one line".into());
        }
        if let Some((a, b)) = polygon.crossing_edges() {
            return Err(format!(
                "the contour crosses itself: the edge from {:?} and the edge from {:?} meet",
                points[a].0, points[b].0
            ));
        }
        if no_area {
            return Err("the contour encloses no area".into());
        }
        Ok(polygon)
    }

    fn edges(&self) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
        let n = self.corners.len();
        (0..n).map(move |k| (self.corners[k], self.corners[(k + 1) % n]))
    }

    /// Enclosed area (mm², shoelace formula).
    pub fn area_mm2(&self) -> f64 {
        (self.edges().map(|(a, b)| cross(a, b)).sum::<f64>() / 2.0).abs()
    }

    /// The area's centroid (mm).
    pub fn centroid(&self) -> [f64; 2] {
        let signed = self.edges().map(|(a, b)| cross(a, b)).sum::<f64>() / 2.0;
        let mut centre = [0.0; 2];
        for (a, b) in self.edges() {
            for axis in 0..2 {
                centre[axis] += (a[axis] + b[axis]) * cross(a, b);
            }
        }
        centre.map(|c| c / (6.0 * signed))
    }

    /// Half the larger side of the bounding box, from the centroid's point of view: every
    /// corner is within this distance of `centre` along x and along y.
    pub fn reach_from(&self, centre: [f64; 2]) -> f64 {
        self.corners
            .iter()
            .flat_map(|c| [(c[0] - centre[0]).abs(), (c[1] - centre[1]).abs()])
            .fold(0.0, f64::max)
    }

    /// Whether `p` is inside (even–odd rule; points on the outline may go either way).
    pub fn contains(&self, p: [f64; 2]) -> bool {
        self.edges().fold(false, |inside, (a, b)| {
            let straddles = (a[1] > p[1]) != (b[1] > p[1]);
            if straddles && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]) {
                !inside
            } else {
                inside
            }
        })
    }

    /// Distance from `p` to the nearest point of the outline (mm).
    pub fn distance_to_outline(&self, p: [f64; 2]) -> f64 {
        self.edges()
            .map(|(a, b)| distance_to_segment(p, a, b))
            .fold(f64::INFINITY, f64::min)
    }

    /// Whether every corner lies on the line through the first two.
    fn on_one_line(&self) -> bool {
        let (a, b) = (self.corners[0], self.corners[1]);
        self.corners.iter().all(|&c| orientation(a, b, c) == 0.0)
    }

    /// The first pair of edges (by their starting corner) that touch or cross where they
    /// should not: non-neighbours that meet anywhere, or neighbours that fold back onto
    /// each other.
    fn crossing_edges(&self) -> Option<(usize, usize)> {
        let n = self.corners.len();
        let edge = |k: usize| (self.corners[k], self.corners[(k + 1) % n]);
        for i in 0..n {
            for j in i + 1..n {
                let (a, b) = edge(i);
                let (c, d) = edge(j);
                let meet = if j == i + 1 {
                    // Shared corner b == c: they overlap only if d lies on a–b or a on c–d.
                    on_segment(d, a, b) || on_segment(a, c, d)
                } else if i == 0 && j == n - 1 {
                    // Shared corner a == d.
                    on_segment(c, a, b) || on_segment(b, c, d)
                } else {
                    segments_meet(a, b, c, d)
                };
                if meet {
                    return Some((i, j));
                }
            }
        }
        None
    }
}

fn cross(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[1] - a[1] * b[0]
}

/// Which side of the line o→a the point b is: positive left, negative right, 0 on it.
fn orientation(o: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    cross([a[0] - o[0], a[1] - o[1]], [b[0] - o[0], b[1] - o[1]])
}

/// Whether `p` lies on the segment a–b (collinear and within its box).
fn on_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> bool {
    orientation(a, b, p) == 0.0
        && p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Whether the closed segments a–b and c–d share a point.
fn segments_meet(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let (o1, o2) = (orientation(a, b, c), orientation(a, b, d));
    let (o3, o4) = (orientation(c, d, a), orientation(c, d, b));
    let proper = o1 * o2 < 0.0 && o3 * o4 < 0.0;
    proper
        || on_segment(c, a, b)
        || on_segment(d, a, b)
        || on_segment(a, c, d)
        || on_segment(b, c, d)
}

fn distance_to_segment(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let ab = [b[0] - a[0], b[1] - a[1]];
    let length2 = ab[0] * ab[0] + ab[1] * ab[1];
    let t = if length2 > 0.0 {
        (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / length2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p[0] - a[0] - t * ab[0]).hypot(p[1] - a[1] - t * ab[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(corners: &[[f32; 3]]) -> Vec<(String, [f32; 3])> {
        corners
            .iter()
            .enumerate()
            .map(|(k, p)| (format!("C{k}"), *p))
            .collect()
    }

    fn flat(corners: &[[f32; 2]]) -> Vec<(String, [f32; 3])> {
        named(
            &corners
                .iter()
                .map(|c| [c[0], c[1], 30.0])
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn a_square_has_its_area_centroid_inside_and_outline() {
        let square = SlicePolygon::new(
            &flat(&[[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]),
            0.5,
        )
        .unwrap();
        assert_eq!(square.z_mm, 30.0);
        assert!((square.area_mm2() - 100.0).abs() < 1e-9);
        assert_eq!(square.centroid(), [5.0, 5.0]);
        assert!(square.contains([5.0, 5.0]) && square.contains([0.5, 9.5]));
        assert!(!square.contains([10.5, 5.0]) && !square.contains([-0.1, -0.1]));
        assert!((square.distance_to_outline([5.0, 5.0]) - 5.0).abs() < 1e-12);
        assert!((square.distance_to_outline([2.0, 7.0]) - 2.0).abs() < 1e-12);
        assert!((square.distance_to_outline([13.0, 14.0]) - 5.0).abs() < 1e-12);
        assert_eq!(square.reach_from(square.centroid()), 5.0);
    }

    #[test]
    fn a_clockwise_triangle_closed_explicitly_is_the_same_triangle() {
        let triangle = SlicePolygon::new(
            &flat(&[[0.0, 0.0], [0.0, 9.0], [9.0, 0.0], [0.0, 0.0]]),
            0.5,
        )
        .unwrap();
        assert_eq!(triangle.corners.len(), 3, "the closing repeat is dropped");
        assert!((triangle.area_mm2() - 40.5).abs() < 1e-9);
        assert_eq!(triangle.centroid(), [3.0, 3.0]);
        assert!(triangle.contains([2.0, 2.0]) && !triangle.contains([5.0, 5.0]));
    }

    #[test]
    fn a_concave_l_shape_excludes_its_notch() {
        let l = SlicePolygon::new(
            &flat(&[
                [0.0, 0.0],
                [20.0, 0.0],
                [20.0, 8.0],
                [8.0, 8.0],
                [8.0, 20.0],
                [0.0, 20.0],
            ]),
            0.5,
        )
        .unwrap();
        assert!((l.area_mm2() - (160.0 + 96.0)).abs() < 1e-9);
        assert!(l.contains([4.0, 16.0]) && l.contains([16.0, 4.0]) && l.contains([4.0, 4.0]));
        assert!(!l.contains([14.0, 14.0]), "the notch is outside");
        assert!((l.distance_to_outline([14.0, 14.0]) - 6.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_contours_are_refused_with_the_reason() {
        let refused = |corners: &[[f32; 3]]| SlicePolygon::new(&named(corners), 0.5).unwrap_err();
        let why = refused(&[[0.0, 0.0, 30.0], [5.0, 0.0, 30.0]]);
        assert!(why.contains("3 points or more, it has 2"), "{why}");
        let why = refused(&[[0.0, 0.0, 30.0], [5.0, 0.0, 30.0], [0.0, 0.0, 30.0]]);
        assert!(why.contains("it has 2"), "a closed two-point loop: {why}");
        let why = refused(&[[0.0, 0.0, 30.0], [9.0, 0.0, 30.0], [9.0, 9.0, 33.0]]);
        assert!(
            why.contains("not in one slice") && why.contains("33.00"),
            "{why}"
        );
        let why = refused(&[[0.0, 0.0, 30.0], [5.0, 5.0, 30.0], [10.0, 10.0, 30.0]]);
        assert!(why.contains("no area: its points lie on one line"), "{why}");
        let why = refused(&[
            [0.0, 0.0, 30.0],
            [9.0, 9.0, 30.0],
            [9.0, 0.0, 30.0],
            [0.0, 9.0, 30.0],
        ]);
        assert!(
            why.contains("crosses itself") && why.contains("\"C0\"") && why.contains("\"C2\""),
            "{why}"
        );
        let why = refused(&[
            [0.0, 0.0, 30.0],
            [9.0, 0.0, 30.0],
            [9.0, 0.0, 30.0],
            [0.0, 9.0, 30.0],
        ]);
        assert!(why.contains("\"C1\" and \"C2\" coincide"), "{why}");
        let why = refused(&[[0.0, 0.0, 30.0], [f32::NAN, 0.0, 30.0], [0.0, 9.0, 30.0]]);
        assert!(why.contains("not a finite"), "{why}");
        // A spike folding back along its own edge, and a bow tie touching at one corner.
        let why = refused(&[
            [0.0, 0.0, 30.0],
            [10.0, 0.0, 30.0],
            [10.0, 10.0, 30.0],
            [10.0, 5.0, 30.0],
            [0.0, 10.0, 30.0],
        ]);
        assert!(why.contains("crosses itself"), "{why}");
        let why = refused(&[
            [0.0, 0.0, 30.0],
            [10.0, 0.0, 30.0],
            [5.0, 5.0, 30.0],
            [10.0, 10.0, 30.0],
            [0.0, 10.0, 30.0],
            [5.0, 5.0, 30.0],
        ]);
        assert!(why.contains("crosses itself"), "{why}");
    }
}
