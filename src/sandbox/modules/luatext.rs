//! Number and string text shared by the modules: C's `%.Ng`, the cell
//! format of Heka's circular buffer output, exact round-trip numbers for
//! preservation, and quoting bytes as a Lua string literal.

use std::fmt::Write;

/// C's `printf("%.{prec}g", d)` (`prec` ≥ 1): `prec` significant digits,
/// exponent form when the exponent is < -4 or ≥ `prec`, trailing zeros
/// removed. NaN is `nan`/`-nan`, infinities `inf`/`-inf`.
pub fn fmt_g(d: f64, prec: usize, out: &mut String) {
    let prec = prec.max(1);
    if d.is_nan() {
        out.push_str(if d.is_sign_negative() { "-nan" } else { "nan" });
        return;
    }
    if d.is_infinite() {
        out.push_str(if d < 0.0 { "-inf" } else { "inf" });
        return;
    }
    // The exponent after rounding to `prec` digits decides the style.
    let sci = format!("{:.*e}", prec - 1, d);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if exp < -4 || exp >= prec as i32 {
        out.push_str(trim_fraction(mantissa));
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        let fixed = format!("{d:.decimals$}");
        out.push_str(trim_fraction(&fixed));
    }
}

/// Drops trailing zeros after a decimal point, and the point itself.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

/// Lua 5.4's `tostring` of a float: `%.14g`, plus `.0` when that looks
/// like an integer.
pub fn lua_number_string(n: f64) -> String {
    let mut s = String::new();
    fmt_g(n, 14, &mut s);
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        s.push_str(".0");
    }
    s
}

/// A circular buffer cell as Heka's sandbox output writes doubles: `nan`,
/// `inf`, `-inf`; beyond the 32-bit integer range `%.17g`; otherwise at
/// most 8 decimals with trailing zeros removed.
pub fn fmt_cell(d: f64, out: &mut String) {
    if d.is_nan() {
        out.push_str("nan");
    } else if d.is_infinite() {
        out.push_str(if d < 0.0 { "-inf" } else { "inf" });
    } else if d > f64::from(i32::MAX) || d < f64::from(i32::MIN) {
        fmt_g(d, 17, out);
    } else {
        let fixed = format!("{d:.8}");
        let t = trim_fraction(&fixed);
        out.push_str(if t == "-0" { "0" } else { t });
    }
}

/// A number written so that [`parse_number`] gives back exactly the same
/// value: integers as integers, other values in Rust's shortest
/// round-trip form, and `nan`, `inf`, `-inf`.
pub fn fmt_exact(d: f64, out: &mut String) {
    if d.is_nan() {
        out.push_str("nan");
    } else if d.is_infinite() {
        out.push_str(if d < 0.0 { "-inf" } else { "inf" });
    } else if d.fract() == 0.0 && d.abs() < 1e15 && !(d == 0.0 && d.is_sign_negative()) {
        let _ = write!(out, "{}", d as i64);
    } else {
        let _ = write!(out, "{d:?}");
    }
}

/// Parses one number token as C's `strtod` would for the texts this
/// project and Heka write: decimal and exponent forms, `nan`/`-nan`,
/// `inf`/`-inf`/`infinity`. Returns `None` for anything else.
pub fn parse_number(token: &str) -> Option<f64> {
    let unsigned = token.trim_start_matches(['+', '-']);
    if unsigned.len() + 1 < token.len() {
        return None; // more than one sign
    }
    if unsigned.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    token.parse::<f64>().ok()
}

/// Appends `bytes` as a double-quoted Lua string literal that is plain
/// printable ASCII: safe to load in text mode whatever the bytes are.
pub fn lua_quote(bytes: &[u8], out: &mut String) {
    out.push('"');
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                // A decimal escape takes up to 3 digits: pad when a digit follows.
                let next_is_digit = bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
                if next_is_digit {
                    let _ = write!(out, "\\{b:03}");
                } else {
                    let _ = write!(out, "\\{b}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(d: f64, p: usize) -> String {
        let mut s = String::new();
        fmt_g(d, p, &mut s);
        s
    }

    #[test]
    fn percent_g_matches_c() {
        assert_eq!(g(0.1, 14), "0.1");
        assert_eq!(g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(g(100.0, 14), "100");
        assert_eq!(g(1e15, 14), "1e+15");
        assert_eq!(g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(g(0.0001, 14), "0.0001");
        assert_eq!(g(0.00001, 14), "1e-05");
        assert_eq!(g(-2.5e-300, 14), "-2.5e-300");
        assert_eq!(g(99999999999999.9, 14), "1e+14");
        assert_eq!(g(-0.0, 14), "-0");
        assert_eq!(g(1.23456, 3), "1.23");
        assert_eq!(g(f64::INFINITY, 14), "inf");
        assert_eq!(g(2f64.powi(60), 17), "1.152921504606847e+18");
    }

    #[test]
    fn cells_and_exact_numbers() {
        let cell = |d| {
            let mut s = String::new();
            fmt_cell(d, &mut s);
            s
        };
        assert_eq!(cell(10002.0), "10002");
        assert_eq!(cell(0.1), "0.1");
        assert_eq!(cell(1.0 / 3.0), "0.33333333");
        assert_eq!(cell(-0.0), "0");
        assert_eq!(cell(f64::NAN), "nan");
        assert_eq!(cell(f64::NEG_INFINITY), "-inf");
        assert_eq!(cell(5e9), "5000000000");
        for d in [0.1, 1.0 / 3.0, -7.0, 1e300, 5e-324, -0.0, 1e16, 123.456] {
            let mut s = String::new();
            fmt_exact(d, &mut s);
            let back = parse_number(&s).unwrap();
            assert_eq!(back.to_bits(), d.to_bits(), "{s}");
        }
        assert!(parse_number("-nan").unwrap().is_nan());
        assert_eq!(parse_number("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_number("1.0000000000000000e+20"), Some(1e20));
        assert_eq!(parse_number("2.5E-3"), Some(0.0025));
        assert_eq!(parse_number("--1"), None);
        assert_eq!(parse_number("x"), None);
    }

    #[test]
    fn lua_literals_are_plain_ascii() {
        let mut s = String::new();
        lua_quote(b"a\"b\\c\n\x00\x001\xff", &mut s);
        assert_eq!(s, r#""a\"b\\c\n\0\0001\255""#);
        let lua = mlua::Lua::new();
        let back: mlua::LuaString = lua.load(format!("return {s}")).eval().unwrap();
        assert_eq!(&*back.as_bytes(), b"a\"b\\c\n\x00\x001\xff");
        assert_eq!(lua_number_string(2.0), "2.0");
        assert_eq!(lua_number_string(0.5), "0.5");
    }
}
