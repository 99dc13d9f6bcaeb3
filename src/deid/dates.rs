//! Shifting DICOM dates (DA) and date-times (DT) by a whole number of days.

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date for a number of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parse a full `YYYYMMDD` date.
fn parse_full(s: &str) -> Option<(i64, u32, u32)> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: u32 = s.get(4..6)?.parse().ok()?;
    let d: u32 = s.get(6..8)?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

/// Shift a DA value (`YYYYMMDD`) by `days`. `None` if the value is not a full valid date
/// (the caller then removes it: a partial or malformed date cannot be shifted safely).
pub fn shift_date(value: &str, days: i32) -> Option<String> {
    let (y, m, d) = parse_full(value.trim())?;
    let (y, m, d) = civil_from_days(days_from_civil(y, m, d) + i64::from(days));
    if !(0..=9999).contains(&y) {
        return None;
    }
    Some(format!("{y:04}{m:02}{d:02}"))
}

/// Shift a DT value (`YYYYMMDDHHMMSS.FFFFFF&ZZXX`, date part required) by `days`; the time
/// of day and the UTC offset are kept, so intervals between events are preserved.
pub fn shift_datetime(value: &str, days: i32) -> Option<String> {
    let v = value.trim();
    let date = shift_date(v.get(0..8)?, days)?;
    Some(format!("{date}{}", v.get(8..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_across_months_years_and_leap_days() {
        assert_eq!(shift_date("20240301", -1).as_deref(), Some("20240229"));
        assert_eq!(shift_date("20230101", -1).as_deref(), Some("20221231"));
        assert_eq!(shift_date("20000228", 1).as_deref(), Some("20000229"));
        assert_eq!(shift_date("19000228", 1).as_deref(), Some("19000301"));
        assert_eq!(shift_date("20240115", -3650).as_deref(), Some("20140117"));
    }

    #[test]
    fn intervals_are_preserved() {
        let a = shift_date("20200110", -1234).unwrap_or_default();
        let b = shift_date("20200315", -1234).unwrap_or_default();
        let (ya, ma, da) = parse_full(&a).unwrap_or((0, 1, 1));
        let (yb, mb, db) = parse_full(&b).unwrap_or((0, 1, 1));
        assert_eq!(
            days_from_civil(yb, mb, db) - days_from_civil(ya, ma, da),
            65
        );
    }

    #[test]
    fn refuses_what_it_cannot_shift() {
        assert_eq!(shift_date("2024", 3), None);
        assert_eq!(shift_date("20241345", 3), None);
        assert_eq!(shift_date("2024-01-01", 3), None);
    }

    #[test]
    fn datetimes_keep_their_time() {
        assert_eq!(
            shift_datetime("20240301101500.123+0100", -1).as_deref(),
            Some("20240229101500.123+0100")
        );
    }
}
