//! Date literals, date-function increments, and turning them into instants.
//!
//! Time-zone rules (all in [`EvalContext::tz`]):
//! * A wall-clock time that falls in a DST gap (e.g. 02:30 on the spring-forward
//!   night in Europe/Berlin) resolves to the earliest instant whose local time
//!   is at or after it: the moment the gap ends (03:00 CEST = 01:00 UTC).
//!   (Java's `ZonedDateTime` would instead shift by the gap length, to 03:30.)
//! * An ambiguous wall-clock time (the repeated hour when clocks fall back)
//!   resolves to its earlier occurrence (the one still on summer time).

use chrono::offset::LocalResult;
use chrono::{DateTime, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::ast::{DateExpr, EvalContext, Period};

/// Parses a date literal written for a date field: `yyyy-MM-dd HH:mm`,
/// `yyyy/MM/dd HH:mm`, `yyyy-MM-dd`, `yyyy/MM/dd` (month, day, hour and minute
/// may have one or two digits), or a period such as `-5d`, `4w 2d`, `-1w 2d`
/// (units w, d, h, m in either case; a leading sign applies to the whole period).
pub(super) fn parse_literal(text: &str) -> Option<DateExpr> {
    let s = text.trim();
    if let Some(local) = parse_absolute(s) {
        return Some(DateExpr::Local(local));
    }
    parse_period_literal(s).map(DateExpr::Relative)
}

/// An unquoted integer on a date field: milliseconds since the epoch.
pub(super) fn parse_epoch_millis(text: &str) -> Option<DateExpr> {
    let millis: i64 = text.parse().ok()?;
    DateTime::from_timestamp_millis(millis).map(DateExpr::Instant)
}

fn parse_absolute(s: &str) -> Option<NaiveDateTime> {
    let (date_part, time_part) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim_start())),
        None => (s, None),
    };
    let sep = if date_part.contains('-') { '-' } else { '/' };
    let mut fields = date_part.split(sep);
    let (y, m, d) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || y.len() != 4 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(number(y, 4)?, number(m, 2)?, number(d, 2)?)?;
    let time = match time_part {
        None => NaiveTime::MIN,
        Some(t) => {
            let (h, min) = t.split_once(':')?;
            NaiveTime::from_hms_opt(number(h, 2)?, number(min, 2)?, 0)?
        }
    };
    Some(date.and_time(time))
}

/// A run of 1..=`max_len` ASCII digits.
fn number<T: std::str::FromStr>(s: &str, max_len: usize) -> Option<T> {
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Splits an optional sign off `s`: (negative, rest).
fn split_sign(s: &str) -> (bool, &str) {
    if let Some(rest) = s.strip_prefix('-') { (true, rest) } else { (false, s.strip_prefix('+').unwrap_or(s)) }
}

/// Reads `<digits><unit>` groups, separated by optional whitespace, calling
/// `add(amount, unit)` for each. Fails on anything else or on no groups.
fn for_each_group(s: &str, mut add: impl FnMut(i64, char) -> Option<()>) -> Option<()> {
    let mut rest = s.trim_start();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount: i64 = rest.get(..digits)?.parse().ok()?;
        let mut tail = rest.get(digits..)?.chars();
        let unit = tail.next()?;
        add(amount, unit)?;
        rest = tail.as_str().trim_start();
    }
    Some(())
}

/// `-1w 2d` style periods for date literals: fixed-length units.
fn parse_period_literal(s: &str) -> Option<TimeDelta> {
    let (negative, body) = split_sign(s);
    let mut minutes: i64 = 0;
    for_each_group(body, |amount, unit| {
        let per = match unit.to_ascii_lowercase() {
            'w' => 7 * 24 * 60,
            'd' => 24 * 60,
            'h' => 60,
            'm' => 1,
            _ => return None,
        };
        minutes = minutes.checked_add(amount.checked_mul(per)?)?;
        Some(())
    })?;
    let minutes = if negative { -minutes } else { minutes };
    TimeDelta::try_minutes(minutes)
}

/// The increment argument of `startOfDay`/`endOfDay`: `(+/-)n(y|M|w|d|h|m)`,
/// several groups allowed; a bare number counts days (the functions' natural
/// unit). `M` is months and `m` minutes.
pub(super) fn parse_function_period(s: &str) -> Option<Period> {
    let (negative, body) = split_sign(s.trim());
    let mut period = Period::default();
    let bare_days = !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit());
    if bare_days {
        period.days = body.parse().ok()?;
    } else {
        for_each_group(body, |amount, unit| {
            match unit {
                'y' | 'Y' => {
                    let months = i32::try_from(amount.checked_mul(12)?).ok()?;
                    period.months = period.months.checked_add(months)?;
                }
                'M' => period.months = period.months.checked_add(i32::try_from(amount).ok()?)?,
                'w' | 'W' => period.days = period.days.checked_add(amount.checked_mul(7)?)?,
                'd' | 'D' => period.days = period.days.checked_add(amount)?,
                'h' | 'H' => period.minutes = period.minutes.checked_add(amount.checked_mul(60)?)?,
                'm' => period.minutes = period.minutes.checked_add(amount)?,
                _ => return None,
            }
            Some(())
        })?;
    }
    if negative {
        period = Period {
            months: period.months.checked_neg()?,
            days: period.days.checked_neg()?,
            minutes: period.minutes.checked_neg()?,
        };
    }
    Some(period)
}

/// The instant a date operand stands for, or `None` when it cannot be
/// represented (arithmetic overflow); such an operand matches nothing.
pub(super) fn resolve(expr: &DateExpr, ctx: &EvalContext<'_>) -> Option<DateTime<Utc>> {
    match *expr {
        DateExpr::Local(local) => resolve_local(ctx.tz, local),
        DateExpr::Relative(delta) => ctx.now.checked_add_signed(delta),
        DateExpr::Instant(t) => Some(t),
        DateExpr::Now => Some(ctx.now),
        DateExpr::StartOfDay(p) => start_of_shifted_day(ctx, p, 0),
        DateExpr::EndOfDay(p) => {
            // The last millisecond before the next day starts.
            start_of_shifted_day(ctx, p, 1)?.checked_sub_signed(TimeDelta::milliseconds(1))
        }
    }
}

/// Midnight (in ctx.tz) of today + the period's months/days + `extra_days`,
/// then plus the period's hours/minutes.
fn start_of_shifted_day(ctx: &EvalContext<'_>, p: Period, extra_days: i64) -> Option<DateTime<Utc>> {
    let today = ctx.now.with_timezone(&ctx.tz).date_naive();
    let date = shift_months(today, p.months)?;
    let date = shift_days(date, p.days.checked_add(extra_days)?)?;
    let start = resolve_local(ctx.tz, date.and_time(NaiveTime::MIN))?;
    start.checked_add_signed(TimeDelta::try_minutes(p.minutes)?)
}

fn shift_months(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let n = Months::new(months.unsigned_abs());
    if months < 0 { date.checked_sub_months(n) } else { date.checked_add_months(n) }
}

fn shift_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    let n = Days::new(days.unsigned_abs());
    if days < 0 { date.checked_sub_days(n) } else { date.checked_add_days(n) }
}

/// A wall-clock time in `tz` as an instant, never failing on DST edges (see
/// the module docs): gap -> end of the gap, overlap -> earlier occurrence.
pub(super) fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(t) = earliest(tz.from_local_datetime(&local)) {
        return Some(t);
    }
    // In a gap: walk forward minute by minute to the first wall-clock time that
    // exists. Real gaps are at most a day long; give up after two.
    let mut probe = local;
    for _ in 0..(2 * 24 * 60) {
        probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
        if let Some(t) = earliest(tz.from_local_datetime(&probe)) {
            return Some(t);
        }
    }
    None
}

fn earliest(result: LocalResult<DateTime<Tz>>) -> Option<DateTime<Utc>> {
    match result {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Europe};

    fn utc(s: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&Utc),
            Err(e) => panic!("bad test timestamp {s}: {e}"),
        }
    }

    fn local(s: &str) -> NaiveDateTime {
        match NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M") {
            Ok(t) => t,
            Err(e) => panic!("bad test local time {s}: {e}"),
        }
    }

    #[test]
    fn literal_forms() {
        let at = |s: &str| parse_literal(s);
        let want = Some(DateExpr::Local(local("2024-03-05 10:07")));
        assert_eq!(at("2024-03-05 10:07"), want);
        assert_eq!(at("2024/03/05 10:07"), want);
        assert_eq!(at("2024-3-5 10:7"), want);
        assert_eq!(at("2024-03-05"), Some(DateExpr::Local(local("2024-03-05 00:00"))));
        assert_eq!(at("2024/03/05"), Some(DateExpr::Local(local("2024-03-05 00:00"))));
        for bad in [
            "2024-13-45",
            "2024-02-30",
            "24-03-05",
            "2024-03/05",
            "2024-03-05 24:00",
            "2024-03-05 10:60",
            "2024-03-05 10",
            "2024-03-05 10:00:00",
            "",
            "-",
            "5",
            "5y",
            "-1w -2d",
            "1x",
            "d",
            "2024-03-05T10:00",
        ] {
            assert_eq!(at(bad), None, "{bad:?} should be invalid");
        }
    }

    #[test]
    fn period_literals() {
        let rel = |s: &str| match parse_literal(s) {
            Some(DateExpr::Relative(d)) => d.num_minutes(),
            other => panic!("{s:?} parsed as {other:?}"),
        };
        assert_eq!(rel("-5m"), -5);
        assert_eq!(rel("4h"), 240);
        assert_eq!(rel("+2d"), 2 * 1440);
        assert_eq!(rel("-2w"), -14 * 1440);
        assert_eq!(rel("-1w 2d"), -9 * 1440);
        assert_eq!(rel("4w2d"), 30 * 1440);
        assert_eq!(rel("-1W"), -7 * 1440);
        assert_eq!(parse_literal("-99999999999999999w"), None);
    }

    #[test]
    fn function_periods() {
        let p = |s: &str| parse_function_period(s);
        assert_eq!(p("-1"), Some(Period { days: -1, ..Period::default() }));
        assert_eq!(p("+1M"), Some(Period { months: 1, ..Period::default() }));
        assert_eq!(p("-1y 2w"), Some(Period { months: -12, days: -14, minutes: 0 }));
        assert_eq!(p("3h 5m"), Some(Period { minutes: 185, ..Period::default() }));
        assert_eq!(p("x"), None);
        assert_eq!(p("-"), None);
        assert_eq!(p("99999999999y"), None);
    }

    #[test]
    fn dst_gap_resolves_to_end_of_gap() {
        // Europe/Berlin springs forward 2024-03-31 02:00 CET -> 03:00 CEST (01:00 UTC).
        let tz = Europe::Berlin;
        assert_eq!(resolve_local(tz, local("2024-03-31 02:30")), Some(utc("2024-03-31T01:00:00Z")));
        assert_eq!(resolve_local(tz, local("2024-03-31 02:00")), Some(utc("2024-03-31T01:00:00Z")));
        assert_eq!(resolve_local(tz, local("2024-03-31 03:00")), Some(utc("2024-03-31T01:00:00Z")));
        assert_eq!(resolve_local(tz, local("2024-03-31 01:59")), Some(utc("2024-03-31T00:59:00Z")));
        // America/Los_Angeles: 2024-03-10 02:00 PST -> 03:00 PDT (10:00 UTC).
        let la = America::Los_Angeles;
        assert_eq!(resolve_local(la, local("2024-03-10 02:15")), Some(utc("2024-03-10T10:00:00Z")));
    }

    #[test]
    fn dst_overlap_resolves_to_earlier_instant() {
        // Europe/Berlin falls back 2024-10-27 03:00 CEST -> 02:00 CET.
        let tz = Europe::Berlin;
        assert_eq!(resolve_local(tz, local("2024-10-27 02:30")), Some(utc("2024-10-27T00:30:00Z")));
        assert_eq!(resolve_local(tz, local("2024-10-27 03:00")), Some(utc("2024-10-27T02:00:00Z")));
        assert_eq!(resolve_local(tz, local("2024-10-27 01:59")), Some(utc("2024-10-26T23:59:00Z")));
    }

    #[test]
    fn day_functions_follow_the_time_zone() {
        let ctx = EvalContext { now: utc("2024-11-01T12:00:00Z"), tz: Europe::Berlin, current_user: &[] };
        let r = |e: DateExpr| resolve(&e, &ctx);
        assert_eq!(r(DateExpr::StartOfDay(Period::default())), Some(utc("2024-10-31T23:00:00Z")));
        assert_eq!(r(DateExpr::EndOfDay(Period::default())), Some(utc("2024-11-01T22:59:59.999Z")));
        // A week back crosses the DST change: midnight then was CEST (UTC+2).
        let week_back = Period { days: -7, ..Period::default() };
        assert_eq!(r(DateExpr::StartOfDay(week_back)), Some(utc("2024-10-24T22:00:00Z")));
        // The day clocks fell back has 25 hours.
        let fall_back_day = Period { days: -5, ..Period::default() };
        assert_eq!(r(DateExpr::StartOfDay(fall_back_day)), Some(utc("2024-10-26T22:00:00Z")));
        assert_eq!(r(DateExpr::EndOfDay(fall_back_day)), Some(utc("2024-10-27T22:59:59.999Z")));
        let month_back = Period { months: -1, ..Period::default() };
        assert_eq!(r(DateExpr::StartOfDay(month_back)), Some(utc("2024-09-30T22:00:00Z")));
        let huge = Period { days: i64::MAX, ..Period::default() };
        assert_eq!(r(DateExpr::StartOfDay(huge)), None);
        assert_eq!(r(DateExpr::EndOfDay(huge)), None);
        assert_eq!(r(DateExpr::Relative(TimeDelta::MAX)), None);
    }
}
