//! Statistics over a column range: `compute` and `mannwhitneyu`. Empty
//! (NaN) cells are skipped.

/// The functions `compute` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComputeFn {
    Sum,
    Avg,
    Sd,
    Min,
    Max,
    Variance,
}

impl ComputeFn {
    /// In `compute`'s option order.
    pub const ALL: [(&'static str, ComputeFn); 6] = [
        ("sum", ComputeFn::Sum),
        ("avg", ComputeFn::Avg),
        ("sd", ComputeFn::Sd),
        ("min", ComputeFn::Min),
        ("max", ComputeFn::Max),
        ("variance", ComputeFn::Variance),
    ];
}

/// `f` over the non-NaN `values`, and how many there were. With no values
/// the sum is 0 and every other result NaN. Variance and standard
/// deviation are of the population (divided by the count).
pub fn compute(f: ComputeFn, values: &[f64]) -> (f64, usize) {
    let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = present.len();
    let sum: f64 = present.iter().sum();
    if n == 0 {
        return (if f == ComputeFn::Sum { 0.0 } else { f64::NAN }, 0);
    }
    let mean = sum / n as f64;
    let variance = || present.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let result = match f {
        ComputeFn::Sum => sum,
        ComputeFn::Avg => mean,
        ComputeFn::Min => present.iter().copied().fold(f64::INFINITY, f64::min),
        ComputeFn::Max => present.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ComputeFn::Variance => variance(),
        ComputeFn::Sd => variance().sqrt(),
    };
    (result, n)
}

/// Complementary error function (Numerical Recipes' Chebyshev fit,
/// fractional error below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The Mann-Whitney rank test of samples `x` and `y` (NaN skipped), as
/// scipy's classic `mannwhitneyu`: U is the smaller of the two U
/// statistics; the one-sided p-value uses the normal approximation with
/// tie correction and, if `continuity`, a 1/2 continuity correction.
/// `None` if a sample is empty; p is NaN when every value is equal.
pub fn mann_whitney_u(x: &[f64], y: &[f64], continuity: bool) -> Option<(f64, f64)> {
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .filter(|v| !v.is_nan())
        .map(|&v| (v, true))
        .chain(y.iter().filter(|v| !v.is_nan()).map(|&v| (v, false)))
        .collect();
    let n1 = all.iter().filter(|(_, in_x)| *in_x).count() as f64;
    let n2 = all.len() as f64 - n1;
    if n1 == 0.0 || n2 == 0.0 {
        return None;
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Average ranks over ties; collect the tie sizes for the correction.
    let (mut rank_sum_x, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        rank_sum_x += rank * all[i..=j].iter().filter(|(_, in_x)| *in_x).count() as f64;
        i = j + 1;
    }
    let n = n1 + n2;
    let u1 = n1 * n2 + n1 * (n1 + 1.0) / 2.0 - rank_sum_x;
    let u2 = n1 * n2 - u1;
    let (small_u, big_u) = (u1.min(u2), u1.max(u2));
    let tie_correction = 1.0 - ties / (n * n * n - n);
    if tie_correction <= 0.0 {
        return Some((small_u, f64::NAN));
    }
    let sd = (tie_correction * n1 * n2 * (n + 1.0) / 12.0).sqrt();
    let shift = if continuity { 0.5 } else { 0.0 };
    let z = ((big_u - shift - n1 * n2 / 2.0) / sd).abs();
    Some((small_u, 0.5 * erfc(z / std::f64::consts::SQRT_2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compute_by_hand() {
        let v = [2.0, f64::NAN, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(compute(ComputeFn::Sum, &v), (40.0, 8));
        assert_eq!(compute(ComputeFn::Avg, &v), (5.0, 8));
        assert_eq!(compute(ComputeFn::Variance, &v), (4.0, 8));
        assert_eq!(compute(ComputeFn::Sd, &v), (2.0, 8));
        assert_eq!(compute(ComputeFn::Min, &v), (2.0, 8));
        assert_eq!(compute(ComputeFn::Max, &v), (9.0, 8));
        assert_eq!(compute(ComputeFn::Sum, &[f64::NAN]), (0.0, 0));
        assert!(compute(ComputeFn::Avg, &[]).0.is_nan());
    }

    #[test]
    fn erfc_matches_known_values() {
        // erfc(0.5) = 0.4795001221869535, erfc(2) = 0.004677734981047266
        assert!((erfc(0.5) - 0.479_500_122_186_953_5).abs() < 1e-7);
        assert!((erfc(2.0) - 0.004_677_734_981_047_266).abs() < 1e-8);
        assert!((erfc(-1.0) - 1.842_700_792_949_715).abs() < 1e-7);
    }

    #[test]
    fn mann_whitney_by_hand() {
        // No ties: U1 = 9, U2 = 0; sd = sqrt(9 * 7 / 12);
        // z = (9 - 0.5 - 4.5) / sd = 1.745743...; p = 0.5 erfc(z / sqrt 2).
        let (u, p) = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, f64::NAN], true).unwrap();
        assert_eq!(u, 0.0);
        assert!((p - 0.040_427_8).abs() < 1e-6, "{p}");
        let (_, p) = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0], false).unwrap();
        // z = 4.5 / sd = 1.963961...
        assert!((p - 0.024_767_3).abs() < 1e-6, "{p}");
        // Ties: x = [1, 2, 2], y = [2, 3]; ranks 1, 3, 3 | 3, 5.
        // R1 = 7, U1 = 6 + 6 - 7 = 5, U2 = 1; tie term 3^3 - 3 = 24,
        // correction 1 - 24 / 120 = 0.8; sd = sqrt(0.8 * 6 * 6 / 12).
        let (u, p) = mann_whitney_u(&[1.0, 2.0, 2.0], &[2.0, 3.0], true).unwrap();
        assert_eq!(u, 1.0);
        let z: f64 = (5.0 - 0.5 - 3.0) / (0.8f64 * 6.0 * 6.0 / 12.0).sqrt();
        assert!((p - 0.5 * erfc(z / std::f64::consts::SQRT_2)).abs() < 1e-12);
        assert!(mann_whitney_u(&[], &[1.0], true).is_none());
        assert!(mann_whitney_u(&[1.0], &[1.0], true).unwrap().1.is_nan());
    }
}
