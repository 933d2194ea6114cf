//! Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`), for comparisons only.

/// Parses a quantity into its value in base units (cores, bytes).
///
/// Accepts the decimal SI suffixes (`n u m k M G T P E`), the binary ones
/// (`Ki Mi Gi Ti Pi Ei`) and decimal exponents (`1e3`, `5E-2`).
pub fn parse(text: &str) -> Option<f64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let base: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    Some(base * factor)
}

/// Parses a quantity given as a JSON string or number.
pub fn from_json(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::String(s) => parse(s),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// The quantity string the API server stores for a quantity written as a
/// number (`cpu: 1.5` → `1500m`, `memory: 1024` → `1024`, `2000` → `2k`):
/// the decimal SI form with the largest suffix that keeps the mantissa whole,
/// rounded up to nano units. `None` for numbers that are not finite.
pub fn canonical(number: &serde_json::Number) -> Option<String> {
    // The shortest decimal text of the number, as digits and a power of ten.
    let text = match (number.as_i64(), number.as_u64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(u)) => u.to_string(),
        _ => {
            let f = number.as_f64().filter(|f| f.is_finite())?;
            format!("{f}")
        }
    };
    let (negative, text) = text.strip_prefix('-').map_or((false, text.as_str()), |t| (true, t));
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let mut mantissa: i128 = format!("{whole}{fraction}").parse().ok()?;
    let mut exponent = -i32::try_from(fraction.len()).ok()?;
    // Kubernetes keeps nano precision and rounds up what is finer.
    while exponent < -9 {
        mantissa = mantissa / 10 + i128::from(mantissa % 10 != 0);
        exponent += 1;
    }
    if mantissa == 0 {
        return Some("0".into());
    }
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    let scale = (exponent.div_euclid(3) * 3).min(18);
    mantissa = mantissa.checked_mul(10i128.checked_pow(u32::try_from(exponent - scale).ok()?)?)?;
    let suffix = match scale {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        _ => "E",
    };
    Some(format!("{}{mantissa}{suffix}", if negative { "-" } else { "" }))
}

#[cfg(test)]
mod tests {
    use super::{canonical, parse};

    #[test]
    fn numbers_as_the_api_server_stores_them() {
        let c = |v: serde_json::Value| canonical(v.as_number().unwrap()).unwrap();
        assert_eq!(c(serde_json::json!(1.5)), "1500m");
        assert_eq!(c(serde_json::json!(0.5)), "500m");
        assert_eq!(c(serde_json::json!(2)), "2");
        assert_eq!(c(serde_json::json!(1024)), "1024");
        assert_eq!(c(serde_json::json!(2000)), "2k");
        assert_eq!(c(serde_json::json!(1e9)), "1G");
        assert_eq!(c(serde_json::json!(0.0001)), "100u");
        assert_eq!(c(serde_json::json!(0)), "0");
        assert_eq!(c(serde_json::json!(1.0000000001)), "1000000001n", "rounded up to nano units");
        assert_eq!(parse(&c(serde_json::json!(1.5))), Some(1.5));
    }

    #[test]
    fn suffixes() {
        assert_eq!(parse("100m"), Some(0.1));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("1Gi"), Some(1073741824.0));
        assert_eq!(parse("512Mi"), Some(536870912.0));
        assert_eq!(parse("1G"), Some(1e9));
        assert_eq!(parse("1e3"), Some(1000.0));
        assert_eq!(parse("1.5"), Some(1.5));
        assert_eq!(parse("abc"), None);
        assert_eq!(parse("1Xi"), None);
        assert_eq!(parse(""), None);
    }
}
