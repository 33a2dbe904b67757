//! Formatting of unix times for people. Alerts show China Standard Time (UTC+8, no daylight
//! saving), the clock of WeChat's deadlines.

const CHINA_OFFSET_SECS: i64 = 8 * 3600;

/// `2026-11-25 16:00 (UTC+8)`.
pub fn format_china_time(unix_secs: i64) -> String {
    let local = unix_secs + CHINA_OFFSET_SECS;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} (UTC+8)",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_china_time(0), "1970-01-01 08:00 (UTC+8)");
        assert_eq!(format_china_time(1_700_000_000), "2023-11-15 06:13 (UTC+8)");
        assert_eq!(format_china_time(951_782_400), "2000-02-29 08:00 (UTC+8)");
        assert_eq!(format_china_time(1_795_500_000), "2026-11-24 14:00 (UTC+8)");
        assert_eq!(format_china_time(-1), "1970-01-01 07:59 (UTC+8)");
    }
}
