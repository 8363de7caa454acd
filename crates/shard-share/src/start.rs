//! Where a share group starts reading a partition it has never read: `share.auto.offset.reset`.

use std::fmt;
use std::str::FromStr;

/// The value of `share.auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OffsetReset {
    /// Only records produced from now on (Kafka's default).
    #[default]
    Latest,
    /// Everything still in the log.
    Earliest,
    /// Records whose timestamp is at most this many ms old (`by_duration:<ISO-8601 duration>`).
    ByDuration {
        /// Look-back in milliseconds.
        millis: i64,
    },
}

/// A `share.auto.offset.reset` value that is not `latest`, `earliest` or `by_duration:<duration>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid share.auto.offset.reset '{0}': expected latest, earliest or by_duration:<ISO-8601 duration such as PT1H>")]
pub struct OffsetResetParseError(pub String);

impl FromStr for OffsetReset {
    type Err = OffsetResetParseError;

    fn from_str(s: &str) -> Result<OffsetReset, OffsetResetParseError> {
        let err = || OffsetResetParseError(s.to_string());
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "latest" => Ok(OffsetReset::Latest),
            "earliest" => Ok(OffsetReset::Earliest),
            _ => {
                let duration = lower.strip_prefix("by_duration:").ok_or_else(err)?;
                let millis = parse_iso8601_duration_ms(duration).ok_or_else(err)?;
                if millis < 0 {
                    return Err(err());
                }
                Ok(OffsetReset::ByDuration { millis })
            }
        }
    }
}

impl fmt::Display for OffsetReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OffsetReset::Latest => f.write_str("latest"),
            OffsetReset::Earliest => f.write_str("earliest"),
            OffsetReset::ByDuration { millis } => write!(f, "by_duration:PT{}.{:03}S", millis / 1000, millis % 1000),
        }
    }
}

impl OffsetReset {
    /// The first offset to deliver. `offset_for_timestamp` answers "first offset whose timestamp is
    /// at least this" (ListOffsets semantics), `None` when no record is that new.
    pub fn start_offset(
        &self,
        log_start_offset: i64,
        log_end_offset: i64,
        now_ms: i64,
        offset_for_timestamp: impl FnOnce(i64) -> Option<i64>,
    ) -> i64 {
        match self {
            OffsetReset::Latest => log_end_offset,
            OffsetReset::Earliest => log_start_offset,
            OffsetReset::ByDuration { millis } => offset_for_timestamp(now_ms.saturating_sub(*millis))
                .unwrap_or(log_end_offset)
                .clamp(log_start_offset, log_end_offset),
        }
    }
}

/// Parses the `java.time.Duration` text form (`PnDTnHnMn.nS`, signs allowed per part) into ms.
fn parse_iso8601_duration_ms(text: &str) -> Option<i64> {
    let (negate_all, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let rest = rest.strip_prefix(['p', 'P'])?;
    let (date, time) = match rest.find(['t', 'T']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut total: i64 = 0;
    let mut any = false;
    if !date.is_empty() {
        let days = date.strip_suffix(['d', 'D'])?;
        total = total.checked_add(parse_signed(days)?.checked_mul(86_400_000)?)?;
        any = true;
    }
    if let Some(mut time) = time {
        if time.is_empty() {
            return None; // "PT" alone is invalid in Java too
        }
        for (unit, ms) in [(['h', 'H'], 3_600_000i64), (['m', 'M'], 60_000)] {
            if let Some(i) = time.find(unit) {
                total = total.checked_add(parse_signed(&time[..i])?.checked_mul(ms)?)?;
                time = &time[i + 1..];
                any = true;
            }
        }
        if !time.is_empty() {
            let secs = time.strip_suffix(['s', 'S'])?;
            total = total.checked_add(parse_seconds_ms(secs)?)?;
            any = true;
        }
    }
    if !any {
        return None;
    }
    Some(if negate_all { -total } else { total })
}

fn parse_signed(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Seconds with an optional fraction of up to 9 digits, in ms (sub-ms digits truncated).
fn parse_seconds_ms(text: &str) -> Option<i64> {
    let (whole, frac) = match text.find(['.', ',']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let negative = whole.starts_with('-');
    let secs = parse_signed(whole)?;
    let mut ms = secs.checked_mul(1000)?;
    if let Some(frac) = frac {
        if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{frac:0<3}");
        let frac_ms: i64 = padded[..3].parse().ok()?;
        ms = if negative {
            ms.checked_sub(frac_ms)?
        } else {
            ms.checked_add(frac_ms)?
        };
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_case_insensitively() {
        assert_eq!("latest".parse(), Ok(OffsetReset::Latest));
        assert_eq!("EARLIEST".parse(), Ok(OffsetReset::Earliest));
    }

    #[test]
    fn by_duration_accepts_java_duration_forms() {
        let ms = |s: &str| match s.parse::<OffsetReset>() {
            Ok(OffsetReset::ByDuration { millis }) => millis,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(ms("by_duration:PT1H"), 3_600_000);
        assert_eq!(ms("by_duration:P1DT2H3M4.5S"), 93_784_500);
        assert_eq!(ms("by_duration:PT0.001S"), 1);
        assert_eq!(ms("by_duration:pt15m"), 900_000);
        assert_eq!(ms("by_duration:P2D"), 172_800_000);
    }

    #[test]
    fn malformed_or_negative_durations_are_refused() {
        for bad in [
            "by_duration:",
            "by_duration:PT",
            "by_duration:1H",
            "by_duration:P1H",
            "by_duration:-PT1H",
            "newest",
            "by_duration:PT1.1234567891S",
        ] {
            assert!(bad.parse::<OffsetReset>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn start_offsets_follow_the_policy() {
        assert_eq!(OffsetReset::Latest.start_offset(5, 100, 0, |_| Some(7)), 100);
        assert_eq!(OffsetReset::Earliest.start_offset(5, 100, 0, |_| Some(7)), 5);
        let by = OffsetReset::ByDuration { millis: 1000 };
        assert_eq!(by.start_offset(5, 100, 10_000, |ts| (ts == 9_000).then_some(42)), 42);
        assert_eq!(by.start_offset(5, 100, 10_000, |_| None), 100, "nothing that new: start at the end");
    }
}
