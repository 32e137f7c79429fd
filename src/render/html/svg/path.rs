//! Path data: coordinates to one decimal and step lines, pushed straight
//! into the path's string.

/// A coordinate on its own (axis positions, grid lines), as [`push_num`]
/// writes it.
pub(super) fn n(v: f64) -> String {
    let mut s = String::new();
    push_num(&mut s, v);
    s
}

/// A piece of path data: a command (or separator), or a coordinate.
pub(super) enum Part {
    C(&'static str),
    N(f64),
}
pub(super) use Part::{C, N};

/// Add `parts` to path data `d`. Pushed straight into the string: a page's
/// paths hold thousands of coordinates, and `write!` for each went through
/// the formatting machinery, most of drawing a chart.
pub(super) fn path(d: &mut String, parts: &[Part]) {
    for p in parts {
        match p {
            C(s) => d.push_str(s),
            N(v) => push_num(d, *v),
        }
    }
}

/// `v` to one decimal, without a trailing ".0", "0" for what is not a
/// number or too large to draw; in integers, since float formatting with a
/// precision is the slow path of `fmt` and a site writes millions of these.
fn push_num(d: &mut String, v: f64) {
    let tenths = (v * 10.0).round();
    if !tenths.is_finite() || tenths.abs() >= 1e15 {
        d.push('0');
        return;
    }
    let tenths = tenths as i64;
    if tenths < 0 {
        d.push('-');
    }
    let (whole, frac) = (tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10);
    // Digits of `whole`, most significant first.
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = whole;
    loop {
        digits[len] = (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for digit in digits[..len].iter().rev() {
        d.push(char::from(b'0' + digit));
    }
    if frac != 0 {
        d.push('.');
        d.push(char::from(b'0' + frac as u8));
    }
}

/// A step line over the buckets, lifting the pen over empty ones.
pub(super) fn step_path(d: &mut String, vals: &[Option<f64>], bw: f64, y: &impl Fn(f64) -> f64) {
    let mut i = 0;
    while i < vals.len() {
        if vals[i].is_none() {
            i += 1;
            continue;
        }
        let run = vals[i..].iter().take_while(|v| v.is_some()).count();
        let segs = vals[i..i + run].iter().enumerate().map(|(m, v)| {
            let x0 = (i + m) as f64 * bw;
            (x0, x0 + bw, y(v.unwrap_or_default()))
        });
        steps(d, segs, true);
        i += run;
    }
}

/// Horizontal steps `(from x, to x, y)`, each starting where the last
/// ended: moved to (with `M`) when `start`, else reached from the pen by a
/// vertical line. A step at the height of the one before extends it, so a
/// flat stretch is one command however many buckets it spans.
pub(super) fn steps(d: &mut String, segs: impl Iterator<Item = (f64, f64, f64)>, start: bool) {
    let tenths = |v: f64| (v * 10.0).round() as i64;
    let mut at: Option<(i64, f64)> = None;
    for (from, to, y) in segs {
        match at {
            None if start => {
                path(d, &[C("M"), N(from), C(" "), N(y)]);
            }
            None => {
                path(d, &[C("V"), N(y)]);
            }
            Some((level, _)) if level == tenths(y) => {}
            Some(_) => {
                path(d, &[C("H"), N(from), C("V"), N(y)]);
            }
        }
        if at.is_none_or(|(level, _)| level != tenths(y)) {
            at = Some((tenths(y), to));
        } else if let Some(a) = at.as_mut() {
            a.1 = to;
        }
    }
    if let Some((_, end)) = at {
        path(d, &[C("H"), N(end)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_short() {
        assert_eq!(n(12.0), "12");
        assert_eq!(n(12.34), "12.3");
        assert_eq!(n(-0.04), "0");
        assert_eq!(n(-1.25), "-1.3");
        assert_eq!(n(0.96), "1");
        assert_eq!(n(f64::NAN), "0");
        assert_eq!(n(1e300), "0");
        for k in -20_000..20_000 {
            let v = f64::from(k) * 0.037;
            let t = (v * 10.0).round() as i64;
            let (whole, frac) = (t.unsigned_abs() / 10, t.unsigned_abs() % 10);
            let sign = if t < 0 { "-" } else { "" };
            let want = if frac == 0 {
                format!("{sign}{whole}")
            } else {
                format!("{sign}{whole}.{frac}")
            };
            assert_eq!(n(v), want, "{v}");
        }
    }
}
