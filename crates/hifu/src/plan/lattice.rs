//! The planner's spot layout in a slice: a hexagonal lattice (rows `spacing × √3/2` apart, every
//! other row shifted by half a spacing) kept where a predicate says, in serpentine order so the
//! focus moves little between neighbouring spots. The planner fills a lesion's cross-section with
//! it; a contour drawn by a peer (OpenIGTLink) is filled with the same lattice.

/// Lattice points (offsets in mm from the lattice origin) within `reach_mm` of the origin along
/// x and y, kept where `keep(x, y)` holds; rows alternate direction. Empty unless `spacing_mm`
/// and `reach_mm` are finite and `spacing_mm` is positive.
pub fn hexagonal(spacing_mm: f64, reach_mm: f64, keep: impl Fn(f64, f64) -> bool) -> Vec<[f64; 2]> {
    if !(spacing_mm.is_finite() && spacing_mm > 0.0 && reach_mm.is_finite()) {
        return Vec::new();
    }
    let row_step = spacing_mm * 3f64.sqrt() / 2.0;
    let rows = (reach_mm.max(0.0) / row_step).ceil() as isize + 1;
    let columns = (reach_mm.max(0.0) / spacing_mm).ceil() as isize + 1;
    let mut points = Vec::new();
    for (j, row) in (-rows..=rows).enumerate() {
        let shift = if row.rem_euclid(2) == 1 { 0.5 } else { 0.0 };
        let mut line: Vec<[f64; 2]> = (-columns..=columns)
            .map(|i| [(i as f64 + shift) * spacing_mm, row as f64 * row_step])
            .filter(|&[x, y]| keep(x, y))
            .collect();
        if j % 2 == 1 {
            line.reverse();
        }
        points.extend(line);
    }
    points
}

#[cfg(test)]
mod tests {
    use super::hexagonal;

    #[test]
    fn neighbours_are_one_spacing_apart_and_rows_alternate_direction() {
        let points = hexagonal(2.0, 5.0, |x, y| x.hypot(y) <= 5.0);
        assert!(points.contains(&[0.0, 0.0]));
        for p in &points {
            let nearest = points
                .iter()
                .filter(|q| *q != p)
                .map(|q| (q[0] - p[0]).hypot(q[1] - p[1]))
                .fold(f64::INFINITY, f64::min);
            assert!((nearest - 2.0).abs() < 1e-9, "{p:?}: {nearest}");
        }
        let rows: Vec<Vec<f64>> = points
            .chunk_by(|a, b| a[1] == b[1])
            .map(|row| row.iter().map(|p| p[0]).collect())
            .collect();
        assert_eq!(rows.len(), 5, "rows at y = 0, ±1.73, ±3.46 mm");
        let directions: Vec<bool> = rows.iter().map(|row| row[0] < row[row.len() - 1]).collect();
        for (row, increasing) in rows.iter().zip(&directions) {
            assert!(
                row.windows(2).all(|w| (w[0] < w[1]) == *increasing),
                "{row:?}"
            );
        }
        assert!(
            directions.windows(2).all(|w| w[0] != w[1]),
            "{directions:?}"
        );
    }

    #[test]
    fn a_bad_spacing_gives_no_points() {
        for spacing in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(hexagonal(spacing, 5.0, |_, _| true).is_empty());
        }
        assert!(hexagonal(1.0, f64::NAN, |_, _| true).is_empty());
    }
}
