//! The dashboard's date presets (the default range, last 30 days, this quarter, last 12 months,
//! all time), resolved against the data's last order day: one definition, which the page's range
//! menu reads and the server's warm-up computes ahead, so the two cannot drift apart.

use super::query::NoQuery;
use super::{Analysis, AnalysisError, Ctx};
use crate::metrics::{self, compare::Versus};
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

/// One choice of the range menu.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Preset {
    /// Its handle in the page's URL: `default`, `last30`, `quarter`, `last12`, `all`.
    pub name: String,
    /// How the menu names it.
    pub label: String,
    /// First day (null: from the first order).
    pub from: Option<NaiveDate>,
    /// Last day (null: to the last order).
    pub to: Option<NaiveDate>,
    /// What the range is compared with (a `vs` parameter's value).
    pub vs: String,
}

/// The presets of a warehouse, in the menu's order; only `all` when it has no orders. `default`
/// is there when the data has a default range (`/api/dimensions`).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Presets {
    /// The presets.
    pub presets: Vec<Preset>,
}

impl Presets {
    /// The presets for data whose last order day is `last`, with `default` its default range.
    pub fn of(last: Option<NaiveDate>, default: Option<&metrics::compare::DefaultRange>) -> Presets {
        let preset = |name: &str, label: &str, from, to, vs: Versus| Preset {
            name: name.into(),
            label: label.into(),
            from,
            to,
            vs: vs.to_string(),
        };
        let mut presets = Vec::new();
        if let Some(d) = default {
            presets.push(preset("default", &d.label, Some(d.from), Some(d.to), d.versus()));
        }
        presets.push(preset("all", "All time", None, None, Versus::PreviousPeriod));
        if let Some(last) = last {
            let from_days = last - chrono::Duration::days(29);
            let quarter = NaiveDate::from_ymd_opt(last.year(), (last.month0() / 3) * 3 + 1, 1).expect("a valid day");
            let year = last.checked_sub_months(Months::new(11)).and_then(|m| m.with_day(1)).expect("a valid day");
            for (name, label, from) in [
                ("last30", "Last 30 days", from_days),
                ("quarter", "This quarter", quarter),
                ("last12", "Last 12 months", year),
            ] {
                presets.push(preset(name, label, Some(from), Some(last), Versus::PreviousPeriod));
            }
        }
        Presets { presets }
    }
}

/// `GET /api/presets`.
pub struct PresetsAnalysis;

impl Analysis for PresetsAnalysis {
    const NAME: &'static str = "presets";
    const PATH: &'static str = "/api/presets";
    const SUMMARY: &'static str =
        "the range menu's presets, resolved against the data's last order day, with the comparison each opens on";
    const TAG: &'static str = "KPIs";
    type Query = NoQuery;
    type Options = ();
    type Output = Presets;

    fn options(_: NoQuery) -> Result<(), AnalysisError> {
        Ok(())
    }

    async fn run(ctx: &Ctx<'_>, _: &()) -> Result<Presets, AnalysisError> {
        let d = ctx.run::<super::kpis::Dimensions>(&()).await?;
        Ok(Presets::of(d.last_date, d.default_range.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::Presets;
    use chrono::NaiveDate;

    #[test]
    fn presets_end_on_the_last_order_day() {
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let p = Presets::of(Some(day("2024-11-14")), None);
        let got: Vec<_> = p.presets.iter().map(|p| (p.name.as_str(), p.from, p.to)).collect();
        assert_eq!(
            got,
            vec![
                ("all", None, None),
                ("last30", Some(day("2024-10-16")), Some(day("2024-11-14"))),
                ("quarter", Some(day("2024-10-01")), Some(day("2024-11-14"))),
                ("last12", Some(day("2023-12-01")), Some(day("2024-11-14"))),
            ]
        );
        assert_eq!(Presets::of(None, None).presets.len(), 1, "no orders: all time only");
    }
}
