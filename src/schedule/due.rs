//! When digests are due: a cadence (daily, weekly on a weekday, monthly on a day) at a local
//! time in the shop's time zone, the instants it falls on, and the period each one reports.
//! Pure functions of the clock's readings, so tests cross daylight-saving changes without
//! waiting.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// When a digest goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    /// Every day at a local time; reports the day before.
    Daily {
        /// The local time.
        at: NaiveTime,
    },
    /// Every week on a weekday at a local time; reports the seven days before.
    Weekly {
        /// The weekday.
        on: Weekday,
        /// The local time.
        at: NaiveTime,
    },
    /// Every month on a day (1 to 28) at a local time; reports the previous calendar month.
    Monthly {
        /// The day of the month.
        day: u32,
        /// The local time.
        at: NaiveTime,
    },
}

/// One time a digest is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// The instant it is due.
    pub due: DateTime<Utc>,
    /// The local day it is due on.
    pub day: NaiveDate,
    /// The first day it reports.
    pub from: NaiveDate,
    /// The last day it reports.
    pub to: NaiveDate,
}

impl Occurrence {
    /// Its stable key in the delivery log: the local day it is due on.
    pub fn key(&self) -> String {
        self.day.to_string()
    }
}

/// The instant `time` on `day` in `tz`: the earlier of an ambiguous local time (clocks turned
/// back), and for a local time skipped by a change (clocks turned forward) the same wall time an
/// hour later, which is the first instant after the gap for the usual one-hour change.
pub fn instant(tz: Tz, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = day.and_time(time);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => match tz.from_local_datetime(&(local + Duration::hours(1))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
            LocalResult::None => Utc.from_utc_datetime(&local),
        },
    }
}

impl Cadence {
    /// The occurrence on local `day`, if the cadence falls on it.
    pub fn on(&self, tz: Tz, day: NaiveDate) -> Option<Occurrence> {
        let yesterday = day.pred_opt()?;
        let (at, from) = match *self {
            Cadence::Daily { at } => (at, yesterday),
            Cadence::Weekly { on, at } if day.weekday() == on => (at, day - Duration::days(7)),
            Cadence::Monthly { day: d, at } if day.day() == d => {
                let first = day.with_day(1)?;
                let last_month = first.pred_opt()?;
                (at, last_month.with_day(1)?)
            }
            _ => return None,
        };
        let to = match *self {
            Cadence::Monthly { .. } => day.with_day(1)?.pred_opt()?,
            _ => yesterday,
        };
        Some(Occurrence { due: instant(tz, day, at), day, from, to })
    }

    /// Every occurrence due after `after` and up to `upto`, oldest first.
    pub fn between(&self, tz: Tz, after: DateTime<Utc>, upto: DateTime<Utc>) -> Vec<Occurrence> {
        let first = after.with_timezone(&tz).date_naive().pred_opt().unwrap_or(NaiveDate::MIN);
        let last = upto.with_timezone(&tz).date_naive().succ_opt().unwrap_or(NaiveDate::MAX);
        first
            .iter_days()
            .take_while(|d| *d <= last)
            .filter_map(|d| self.on(tz, d))
            .filter(|o| o.due > after && o.due <= upto)
            .collect()
    }

    /// The next occurrence due after `after`.
    pub fn next(&self, tz: Tz, after: DateTime<Utc>) -> Occurrence {
        let mut upto = after + Duration::days(32);
        loop {
            if let Some(o) = self.between(tz, after, upto).into_iter().next() {
                return o;
            }
            upto += Duration::days(32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_daily_digest_at_eight_stays_at_eight_local_across_both_daylight_saving_changes() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let daily = Cadence::Daily { at: t(8, 0) };
        // 2026-03-29: clocks go forward (CET → CEST); 2026-10-25: back
        let spring = daily.between(berlin, utc("2026-03-27T12:00:00Z"), utc("2026-03-31T12:00:00Z"));
        let due: Vec<String> = spring.iter().map(|o| o.due.to_rfc3339()).collect();
        assert_eq!(
            due,
            [
                "2026-03-28T07:00:00+00:00",
                "2026-03-29T06:00:00+00:00",
                "2026-03-30T06:00:00+00:00",
                "2026-03-31T06:00:00+00:00"
            ]
        );
        assert_eq!(spring[1].from, NaiveDate::from_ymd_opt(2026, 3, 28).unwrap());
        assert_eq!(spring[1].to, spring[1].from, "a daily digest reports the day before");
        let autumn = daily.between(berlin, utc("2026-10-24T12:00:00Z"), utc("2026-10-26T12:00:00Z"));
        let due: Vec<String> = autumn.iter().map(|o| o.due.to_rfc3339()).collect();
        assert_eq!(due, ["2026-10-25T07:00:00+00:00", "2026-10-26T07:00:00+00:00"]);
    }

    #[test]
    fn a_time_skipped_or_repeated_by_the_change_is_sent_once() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 02:30 does not exist on 2026-03-08 in New York (02:00 EST jumps to 03:00 EDT)
        let early = Cadence::Daily { at: t(2, 30) };
        let spring = early.between(ny, utc("2026-03-07T12:00:00Z"), utc("2026-03-09T00:00:00Z"));
        assert_eq!(spring.len(), 1);
        assert_eq!(spring[0].due, utc("2026-03-08T07:30:00Z"), "03:30 EDT, just after the gap");
        // 01:30 happens twice on 2026-11-01 (02:00 EDT goes back to 01:00 EST)
        let folded = Cadence::Daily { at: t(1, 30) };
        let autumn = folded.between(ny, utc("2026-10-31T12:00:00Z"), utc("2026-11-02T00:00:00Z"));
        assert_eq!(autumn.len(), 1, "{:?}", autumn.iter().map(|o| o.due.to_rfc3339()).collect::<Vec<_>>());
        assert_eq!(autumn[0].due, utc("2026-11-01T05:30:00Z"), "the first 01:30 (EDT)");
    }

    #[test]
    fn weekly_on_mondays_reports_the_week_before_and_monthly_the_month_before() {
        let utc_tz: Tz = "UTC".parse().unwrap();
        let weekly = Cadence::Weekly { on: Weekday::Mon, at: t(8, 0) };
        let got = weekly.between(utc_tz, utc("2026-11-01T00:00:00Z"), utc("2026-11-30T23:00:00Z"));
        let days: Vec<String> = got.iter().map(|o| o.day.to_string()).collect();
        assert_eq!(days, ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23", "2026-11-30"]);
        assert_eq!((got[0].from.to_string(), got[0].to.to_string()), ("2026-10-26".into(), "2026-11-01".into()));
        let monthly = Cadence::Monthly { day: 1, at: t(7, 0) };
        let o = monthly.next(utc_tz, utc("2026-12-06T00:00:00Z"));
        assert_eq!(o.due, utc("2027-01-01T07:00:00Z"));
        assert_eq!((o.from.to_string(), o.to.to_string()), ("2026-12-01".into(), "2026-12-31".into()));
        // the instant itself is not "after" it
        assert_eq!(weekly.between(utc_tz, utc("2026-11-02T08:00:00Z"), utc("2026-11-02T09:00:00Z")), vec![]);
    }
}
