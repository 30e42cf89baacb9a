//! Units used in scenario files: Go durations and Kubernetes quantities.
//!
//! Both parsers are exact (integer arithmetic only) so the same text always gives the
//! same value on every machine.

use std::fmt;

/// Nanoseconds in one millisecond; the simulator's clock counts milliseconds.
const NANOS_PER_MILLI: u128 = 1_000_000;

/// Why a duration or quantity could not be parsed. The message says what would be valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnitError(pub String);

/// Parses a duration in Go's `time.ParseDuration` syntax, plus `d` for days, into
/// whole milliseconds.
///
/// Upstream: `golang/go` `src/time/format.go`, `ParseDuration`: an optional sign, then
/// one or more `<decimal number><unit>` terms (`1h30m`, `1.5h`, `.5s`), units `ns`,
/// `us`, `µs`, `μs`, `ms`, `s`, `m`, `h`; the bare string `0` is allowed without a
/// unit; the total must fit an int64 of nanoseconds. poolsim adds `d` (24h) because
/// scenarios run for days.
///
/// Decisions:
/// - Negative durations are rejected: every duration in a scenario is a time span or a
///   time since the start (`-0s` is accepted as zero).
/// - The total must be a whole number of milliseconds. `2us` or `1.5ms` are rejected
///   instead of rounded, because the simulated clock ticks in milliseconds and a
///   silent rounding would hide a mistake; `1000us` is accepted (it is 1ms).
pub fn parse_duration_ms(text: &str) -> Result<u64, UnitError> {
    let invalid = |why: &str| {
        UnitError(format!(
            "invalid duration {text:?}: {why}; expected Go duration syntax such as 500ms, 30s, 5m, 1h30m, 1.5h or 2d"
        ))
    };
    let mut rest = text;
    let mut negative = false;
    if let Some(stripped) = rest.strip_prefix('-') {
        negative = true;
        rest = stripped;
    } else if let Some(stripped) = rest.strip_prefix('+') {
        rest = stripped;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid("it is empty"));
    }
    // Exact total in nanoseconds; u128 cannot overflow before the int64 check below.
    let mut total_nanos: u128 = 0;
    while !rest.is_empty() {
        let integer_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let integer_digits = &rest[..integer_len];
        rest = &rest[integer_len..];
        let mut fraction_digits = "";
        if let Some(after_dot) = rest.strip_prefix('.') {
            let fraction_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            fraction_digits = &after_dot[..fraction_len];
            rest = &after_dot[fraction_len..];
        }
        if integer_digits.is_empty() && fraction_digits.is_empty() {
            return Err(invalid("a number is missing before a unit"));
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(index, _)| index);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "" => return Err(invalid("a unit is missing after a number")),
            other => {
                return Err(invalid(&format!(
                    "unknown unit {other:?} (valid units: ns, us, ms, s, m, h, d)"
                )))
            }
        };
        let out_of_range = || invalid("it is longer than Go allows (about 292 years)");
        // More than 40 integer digits cannot be in range; cap before parsing into u128.
        if integer_digits.trim_start_matches('0').len() > 30 {
            return Err(out_of_range());
        }
        let integer: u128 = if integer_digits.is_empty() {
            0
        } else {
            integer_digits.parse().map_err(|_| out_of_range())?
        };
        total_nanos = total_nanos
            .checked_add(integer.checked_mul(unit_nanos).ok_or_else(out_of_range)?)
            .ok_or_else(out_of_range)?;
        // Fraction: digits beyond nanosecond precision are truncated, as Go does.
        let mut scale: u128 = 1;
        let mut fraction_value: u128 = 0;
        for digit in fraction_digits.bytes().take(20) {
            fraction_value = fraction_value * 10 + u128::from(digit - b'0');
            scale *= 10;
        }
        total_nanos += fraction_value * unit_nanos / scale;
        if total_nanos > i64::MAX as u128 {
            return Err(out_of_range());
        }
    }
    if negative && total_nanos != 0 {
        return Err(UnitError(format!(
            "invalid duration {text:?}: it is negative; durations in a scenario are zero or more"
        )));
    }
    if !total_nanos.is_multiple_of(NANOS_PER_MILLI) {
        return Err(UnitError(format!(
            "invalid duration {text:?}: poolsim's clock counts whole milliseconds, and this is not a whole number of them"
        )));
    }
    Ok((total_nanos / NANOS_PER_MILLI) as u64)
}

/// Formats milliseconds compactly for messages: `0s`, `500ms`, `1m30s`, `2d3h`,
/// `1s250ms`. Zero components are left out; [`parse_duration_ms`] reads the result back.
pub fn format_duration_ms(duration_ms: u64) -> String {
    if duration_ms == 0 {
        return "0s".to_string();
    }
    const PARTS: [(u64, &str); 5] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
        (1, "ms"),
    ];
    let mut remaining_ms = duration_ms;
    let mut text = String::new();
    for (unit_ms, suffix) in PARTS {
        let count = remaining_ms / unit_ms;
        if count > 0 {
            text.push_str(&format!("{count}{suffix}"));
            remaining_ms %= unit_ms;
        }
    }
    text
}

/// Nano-units per base unit: Kubernetes rounds every parsed quantity to nano precision.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Largest magnitude kept, in nano-units. Far beyond any cluster (1e29 base units);
/// bigger inputs are rejected instead of overflowing.
const MAX_NANOS: i128 = 100_000_000_000_000_000_000_000_000_000_000_000_000;

/// How a quantity was written, as upstream's `resource.Format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantityFormat {
    /// `k`, `M`, `m`, no suffix, ...
    DecimalSi,
    /// `Ki`, `Mi`, `Gi`, ...
    BinarySi,
    /// `1e3`, `1.5E-3`, ...
    DecimalExponent,
}

/// A Kubernetes resource quantity, kept exactly as a count of nano-units.
///
/// Upstream: `kubernetes/kubernetes`
/// `staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go`, `ParseQuantity`:
/// the value is rounded to nano precision away from zero ("if you want some resources,
/// you should get some resources"), and binary-suffixed values are capped at 2^63-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    nanos: i128,
    format: QuantityFormat,
}

impl Quantity {
    /// The exact value in nano-units (1e-9).
    pub fn nano_value(&self) -> i128 {
        self.nanos
    }

    /// The value in base units, rounded away from zero, as upstream `Quantity.Value()`
    /// ("rounded up to the nearest integer away from 0").
    pub fn value(&self) -> i128 {
        divide_away_from_zero(self.nanos, NANOS_PER_UNIT)
    }

    /// The value in thousandths, rounded away from zero, as upstream
    /// `Quantity.MilliValue()` (which calls `ScaledValue(Milli)`, the same rounding as
    /// `Value()`). `500m` CPU gives 500.
    pub fn milli_value(&self) -> i128 {
        divide_away_from_zero(self.nanos, NANOS_PER_UNIT / 1000)
    }

    /// The value as a float, for load arithmetic where exactness does not matter.
    pub fn as_f64(&self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }

    /// The format the text was written in (upstream `Quantity.Format`); like upstream,
    /// a binary value strictly between 0 and 1 becomes decimal.
    pub fn format(&self) -> QuantityFormat {
        self.format
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }
}

fn divide_away_from_zero(numerator: i128, denominator: i128) -> i128 {
    let quotient = numerator / denominator;
    if numerator % denominator == 0 {
        quotient
    } else if numerator > 0 {
        quotient + 1
    } else {
        quotient - 1
    }
}

/// Parses a Kubernetes quantity: `<sign?><digits>[.<digits>]<suffix>` where the suffix
/// is a decimal SI prefix (`n u m "" k M G T P E`), a binary one (`Ki Mi Gi Ti Pi Ei`),
/// or a decimal exponent (`e3`, `E-6`, `e+2`).
///
/// Upstream: `quantity.go`, `parseQuantityString` and `ParseQuantity`; suffixes from
/// `suffix.go`, `newSuffixer`. As upstream: `1.` and `.5` are accepted, leading zeros
/// are ignored, values are rounded to nano precision away from zero, binary values
/// above 2^63-1 are capped. Unlike upstream (arbitrary precision), decimal values
/// beyond 1e29 are rejected as out of range.
pub fn parse_quantity(text: &str) -> Result<Quantity, UnitError> {
    let invalid = |why: &str| {
        UnitError(format!(
            "invalid quantity {text:?}: {why}; expected Kubernetes quantity syntax such as 500m, 2, 1.5, 64Gi, 100M or 1e3"
        ))
    };
    if text.is_empty() {
        return Err(invalid("it is empty"));
    }
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut negative = false;
    match bytes[0] {
        b'-' => {
            negative = true;
            position = 1;
        }
        b'+' => position = 1,
        _ => {}
    }
    let integer_start = position;
    while position < bytes.len() && bytes[position].is_ascii_digit() {
        position += 1;
    }
    let integer_digits = &text[integer_start..position];
    let mut fraction_digits = "";
    if position < bytes.len() && bytes[position] == b'.' {
        position += 1;
        let fraction_start = position;
        while position < bytes.len() && bytes[position].is_ascii_digit() {
            position += 1;
        }
        fraction_digits = &text[fraction_start..position];
    }
    // Upstream accepts "." as zero; a quantity with no digit at all is surely a
    // mistake in a scenario, so poolsim asks for a number.
    if integer_digits.is_empty() && fraction_digits.is_empty() {
        return Err(invalid("it does not start with a number"));
    }
    let suffix = &text[position..];
    // The value is (digits as integer) * 10^decimal_exponent * 2^binary_exponent.
    let (mut decimal_exponent, binary_exponent, format): (i64, u32, QuantityFormat) = match suffix {
        "" => (0, 0, QuantityFormat::DecimalSi),
        "n" => (-9, 0, QuantityFormat::DecimalSi),
        "u" => (-6, 0, QuantityFormat::DecimalSi),
        "m" => (-3, 0, QuantityFormat::DecimalSi),
        "k" => (3, 0, QuantityFormat::DecimalSi),
        "M" => (6, 0, QuantityFormat::DecimalSi),
        "G" => (9, 0, QuantityFormat::DecimalSi),
        "T" => (12, 0, QuantityFormat::DecimalSi),
        "P" => (15, 0, QuantityFormat::DecimalSi),
        "E" => (18, 0, QuantityFormat::DecimalSi),
        "Ki" => (0, 10, QuantityFormat::BinarySi),
        "Mi" => (0, 20, QuantityFormat::BinarySi),
        "Gi" => (0, 30, QuantityFormat::BinarySi),
        "Ti" => (0, 40, QuantityFormat::BinarySi),
        "Pi" => (0, 50, QuantityFormat::BinarySi),
        "Ei" => (0, 60, QuantityFormat::BinarySi),
        _ => {
            let exponent_text = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .filter(|rest| !rest.is_empty());
            let Some(exponent_text) = exponent_text else {
                return Err(invalid(&format!(
                    "unknown suffix {suffix:?} (valid: n u m k M G T P E, Ki Mi Gi Ti Pi Ei, or an exponent like e3)"
                )));
            };
            let unsigned = exponent_text
                .strip_prefix(['+', '-'])
                .unwrap_or(exponent_text);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!("bad exponent {suffix:?}")));
            }
            let exponent: i64 = exponent_text
                .parse()
                .map_err(|_| invalid("the exponent is out of range"))?;
            (exponent, 0, QuantityFormat::DecimalExponent)
        }
    };
    let out_of_range = || invalid("it is out of the range poolsim supports (magnitude up to 1e29)");
    let digits = format!(
        "{}{}",
        integer_digits.trim_start_matches('0'),
        fraction_digits
    );
    decimal_exponent = decimal_exponent.saturating_sub(fraction_digits.len() as i64);
    let digits = digits.trim_start_matches('0');
    // Drop trailing zeros into the exponent so long fractions of zeros stay small.
    let significant = digits.trim_end_matches('0');
    decimal_exponent = decimal_exponent.saturating_add((digits.len() - significant.len()) as i64);
    if significant.is_empty() {
        return Ok(Quantity { nanos: 0, format });
    }
    if significant.len() > 38 {
        return Err(out_of_range());
    }
    let mantissa: i128 = significant.parse().map_err(|_| out_of_range())?;
    // The binary multiplier is applied before rounding to nano precision, so that
    // `0.000000000001Ki` rounds once (to 2n), as upstream does.
    let scaled_mantissa = mantissa
        .checked_mul(1_i128 << binary_exponent)
        .ok_or_else(out_of_range)?;
    // Convert to nano-units: multiply by 10^(exponent + 9), rounding away from zero
    // when the exponent is below nano precision.
    let nano_exponent = decimal_exponent.saturating_add(9);
    let mut nanos = if nano_exponent >= 0 {
        if nano_exponent > 38 {
            return Err(out_of_range());
        }
        scaled_mantissa
            .checked_mul(10_i128.pow(nano_exponent as u32))
            .ok_or_else(out_of_range)?
    } else if -nano_exponent > 38 {
        // Smaller than one nano-unit: upstream rounds any non-zero value up to 1n.
        1
    } else {
        divide_away_from_zero(scaled_mantissa, 10_i128.pow((-nano_exponent) as u32))
    };
    let mut format = format;
    if format == QuantityFormat::BinarySi {
        // Upstream caps binary quantities at maxAllowed (2^63-1 base units).
        let max_allowed_nanos = i128::from(i64::MAX) * NANOS_PER_UNIT;
        nanos = nanos.min(max_allowed_nanos);
        if nanos < NANOS_PER_UNIT {
            format = QuantityFormat::DecimalSi;
        }
    }
    if nanos > MAX_NANOS {
        return Err(out_of_range());
    }
    Ok(Quantity {
        nanos: if negative { -nanos } else { nanos },
        format,
    })
}

impl fmt::Display for Quantity {
    /// Prints the exact decimal value in base units (`0.5`, `68719476736`), which is
    /// unambiguous in messages whatever suffix the user wrote.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let magnitude = self.nanos.unsigned_abs();
        let whole = magnitude / NANOS_PER_UNIT as u128;
        let fraction = magnitude % NANOS_PER_UNIT as u128;
        if fraction == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let fraction_text = format!("{fraction:09}");
            write!(f, "{sign}{whole}.{}", fraction_text.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> u64 {
        parse_duration_ms(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    #[test]
    fn durations_in_go_syntax() {
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
        assert_eq!(ms("-0s"), 0);
        assert_eq!(ms("+5s"), 5_000);
        assert_eq!(ms("300ms"), 300);
        assert_eq!(ms("30s"), 30_000);
        assert_eq!(ms("5m"), 300_000);
        assert_eq!(ms("1.5h"), 5_400_000);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("1h30m15s250ms"), 5_415_250);
        assert_eq!(ms(".5s"), 500);
        assert_eq!(ms("1.s"), 1_000);
        assert_eq!(ms("2d"), 172_800_000);
        assert_eq!(ms("1000us"), 1);
        assert_eq!(ms("1000µs"), 1);
        assert_eq!(ms("2000000ns"), 2);
        assert_eq!(ms("0.001s"), 1);
        // Go allows repeated units and any order.
        assert_eq!(ms("1m1m"), 120_000);
        assert_eq!(ms("30s1m"), 90_000);
    }

    #[test]
    fn bad_durations_are_rejected_with_the_reason() {
        for (text, reason) in [
            ("", "empty"),
            ("5", "unit is missing"),
            ("5 s", "unknown unit"),
            ("5sec", "unknown unit"),
            ("1y", "unknown unit"),
            ("s", "number is missing"),
            (".s", "number is missing"),
            ("-5s", "negative"),
            ("2us", "whole milliseconds"),
            ("1.5ms", "whole milliseconds"),
            ("1.0000001s", "whole milliseconds"),
            ("3000000h", "longer than Go allows"),
            (
                "99999999999999999999999999999999999999999h",
                "longer than Go allows",
            ),
            ("three", "number is missing"),
            ("1h-30m", "unknown unit"),
        ] {
            let error = parse_duration_ms(text).expect_err(text);
            assert!(error.0.contains(reason), "{text}: {error}");
            assert!(
                error.0.starts_with(&format!("invalid duration {text:?}")),
                "{text}: quotes the input: {error}"
            );
        }
    }

    #[test]
    fn go_maximum_duration_is_accepted() {
        // 2562047h is the largest whole-hour duration that fits int64 nanoseconds.
        assert_eq!(ms("2562047h"), 2_562_047 * 3_600_000);
        assert!(parse_duration_ms("2562048h").is_err());
    }

    #[test]
    fn formatted_durations_read_back() {
        for (duration_ms, text) in [
            (0, "0s"),
            (1, "1ms"),
            (500, "500ms"),
            (1_250, "1s250ms"),
            (90_000, "1m30s"),
            (5_400_000, "1h30m"),
            (86_400_000, "1d"),
            (183_600_000, "2d3h"),
        ] {
            assert_eq!(format_duration_ms(duration_ms), text);
            assert_eq!(ms(text), duration_ms);
        }
    }

    fn quantity(text: &str) -> Quantity {
        parse_quantity(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    /// (input, unscaled value, base-10 exponent, format), from upstream
    /// `quantity_test.go`, `TestQuantityParse` (the `decQuantity(i, exponent, format)`
    /// rows).
    const UPSTREAM_PARSE_VECTORS: &[(&str, i128, i32, QuantityFormat)] = {
        use QuantityFormat::{BinarySi as B, DecimalExponent as X, DecimalSi as D};
        &[
            ("0", 0, 0, D),
            ("0n", 0, 0, D),
            ("0u", 0, 0, D),
            ("0m", 0, 0, D),
            ("0Ki", 0, 0, B),
            ("0k", 0, 0, D),
            ("0Mi", 0, 0, B),
            ("0M", 0, 0, D),
            ("0Gi", 0, 0, B),
            ("0G", 0, 0, D),
            ("0Ti", 0, 0, B),
            ("0T", 0, 0, D),
            ("1", 1, 0, D),
            ("1Ki", 1024, 0, B),
            ("8Ki", 8 * 1024, 0, B),
            ("7Mi", 7 * 1024 * 1024, 0, B),
            ("6Gi", 6 * 1024 * 1024 * 1024, 0, B),
            ("5Ti", 5 * 1024 * 1024 * 1024 * 1024, 0, B),
            ("4Pi", 4 * 1024 * 1024 * 1024 * 1024 * 1024, 0, B),
            ("3Ei", 3 * 1024 * 1024 * 1024 * 1024 * 1024 * 1024, 0, B),
            ("10Ti", 10 * 1024 * 1024 * 1024 * 1024, 0, B),
            ("100Ti", 100 * 1024 * 1024 * 1024 * 1024, 0, B),
            ("5n", 5, -9, D),
            ("4u", 4, -6, D),
            ("3m", 3, -3, D),
            ("9", 9, 0, D),
            ("8k", 8, 3, D),
            ("50k", 5, 4, D),
            ("7M", 7, 6, D),
            ("6G", 6, 9, D),
            ("5T", 5, 12, D),
            ("40T", 4, 13, D),
            ("300T", 3, 14, D),
            ("2P", 2, 15, D),
            ("1E", 1, 18, D),
            ("1E-3", 1, -3, X),
            ("1e3", 1, 3, X),
            ("1E6", 1, 6, X),
            ("1e9", 1, 9, X),
            ("1E12", 1, 12, X),
            ("1e15", 1, 15, X),
            ("1E18", 1, 18, X),
            ("1e14", 1, 14, X),
            ("1e13", 1, 13, X),
            ("100.035k", 100035, 0, D),
            ("0.001", 1, -3, D),
            ("0.0005k", 5, -1, D),
            ("0.005", 5, -3, D),
            ("0.05", 5, -2, D),
            ("0.5", 5, -1, D),
            ("0.00050k", 5, -1, D),
            ("0.00500", 5, -3, D),
            ("0.05000", 5, -2, D),
            ("0.50000", 5, -1, D),
            ("0.5e0", 5, -1, X),
            ("0.5e-1", 5, -2, X),
            ("0.5e-2", 5, -3, X),
            ("10.035M", 10035, 3, D),
            ("1.2e3", 12, 2, X),
            ("1.3E+6", 13, 5, X),
            ("1.40e9", 14, 8, X),
            ("1.53E12", 153, 10, X),
            ("1.6e15", 16, 14, X),
            ("1.7E18", 17, 17, X),
            ("9.01", 901, -2, D),
            ("8.1k", 81, 2, D),
            ("7.123456M", 7123456, 0, D),
            ("6.987654321G", 6987654321, 0, D),
            ("5.444T", 5444, 9, D),
            ("40.1T", 401, 11, D),
            ("300.2T", 3002, 11, D),
            ("2.5P", 25, 14, D),
            ("1.01E", 101, 16, D),
            // Things that saturate/round.
            ("3.001n", 4, -9, D),
            ("1.1E-9", 2, -9, X),
            ("0.0000000001", 1, -9, D),
            ("0.0000000005", 1, -9, D),
            ("0.00000000050", 1, -9, D),
            ("0.5e-9", 1, -9, X),
            ("0.9n", 1, -9, D),
            ("0.00000012345", 124, -9, D),
            ("0.00000012354", 124, -9, D),
            ("12E", 12, 18, D),
            // Fractional binary values.
            ("100.035Ki", 10243584, -2, B),
            ("0.5Mi", 524288, 0, B),
            ("0.05Gi", 536870912, -1, B),
            ("0.025Ti", 274877906944, -1, B),
            // "Things written by trolls".
            ("0.000000000001Ki", 2, -9, D),
            (".001", 1, -3, D),
            (".0001k", 100, -3, D),
            ("1.", 1, 0, D),
            ("1.G", 1, 9, D),
        ]
    };

    fn expected_nanos(unscaled: i128, exponent: i32) -> i128 {
        let nano_exponent = exponent + 9;
        assert!(
            nano_exponent >= 0,
            "vectors are at nano precision or coarser"
        );
        unscaled * 10_i128.pow(nano_exponent as u32)
    }

    #[test]
    fn upstream_parse_vectors() {
        for &(text, unscaled, exponent, format) in UPSTREAM_PARSE_VECTORS {
            let parsed = quantity(text);
            assert_eq!(
                parsed.nano_value(),
                expected_nanos(unscaled, exponent),
                "{text}"
            );
            assert_eq!(parsed.format(), format, "{text}");
            // Upstream's test also tries the negative of every row.
            let negative = quantity(&format!("-{text}"));
            assert_eq!(negative.nano_value(), -parsed.nano_value(), "-{text}");
        }
    }

    #[test]
    fn binary_values_saturate_at_int64_max() {
        // Upstream: {"9Ei", maxAllowed} and {"9223372036854775807Ki", maxAllowed}.
        for text in ["9Ei", "9223372036854775807Ki"] {
            assert_eq!(quantity(text).value(), i128::from(i64::MAX), "{text}");
        }
    }

    #[test]
    fn value_and_milli_value_round_away_from_zero() {
        assert_eq!(quantity("500m").milli_value(), 500);
        assert_eq!(quantity("500m").value(), 1);
        assert_eq!(quantity("2").milli_value(), 2000);
        assert_eq!(quantity("64Gi").value(), 68_719_476_736);
        assert_eq!(quantity("1.5").value(), 2);
        assert_eq!(quantity("-1.5").value(), -2);
        assert_eq!(quantity("1n").milli_value(), 1);
        assert_eq!(quantity("-1n").milli_value(), -1);
        assert_eq!(quantity("0").value(), 0);
        assert_eq!(quantity("+3k").value(), 3000);
        assert!(quantity("-1").is_negative());
    }

    #[test]
    fn bad_quantities_are_rejected() {
        for (text, reason) in [
            ("", "empty"),
            (".", "does not start with a number"),
            ("-", "does not start with a number"),
            ("Gi", "does not start with a number"),
            ("three", "does not start with a number"),
            ("1GB", "unknown suffix"),
            ("1K", "unknown suffix"),
            ("1 Gi", "unknown suffix"),
            ("1e", "unknown suffix"),
            ("1e3.5", "bad exponent"),
            ("1ee3", "bad exponent"),
            ("1e+", "bad exponent"),
            ("1e99", "out of the range"),
            ("1e99999999999999999999", "exponent is out of range"),
            (
                "99999999999999999999999999999999999999999",
                "out of the range",
            ),
        ] {
            let error = parse_quantity(text).expect_err(text);
            assert!(error.0.contains(reason), "{text}: {error}");
            assert!(
                error.0.contains("64Gi"),
                "{text}: lists valid forms: {error}"
            );
        }
    }

    #[test]
    fn tiny_values_round_up_to_one_nano() {
        assert_eq!(quantity("1e-30").nano_value(), 1);
        assert_eq!(quantity("1e-9999").nano_value(), 1);
        assert_eq!(quantity("-1e-50").nano_value(), -1);
    }

    #[test]
    fn display_is_exact() {
        assert_eq!(quantity("500m").to_string(), "0.5");
        assert_eq!(quantity("2Ki").to_string(), "2048");
        assert_eq!(quantity("-1.25").to_string(), "-1.25");
        assert_eq!(quantity("3n").to_string(), "0.000000003");
    }
}
