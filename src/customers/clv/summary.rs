//! A customer's history as the models read it: purchases and times in weeks.

/// One customer's summary, in weeks.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The customer's id.
    pub id: String,
    /// Repeat purchase days.
    pub x: f64,
    /// Last minus first purchase day.
    pub t_x: f64,
    /// Calibration end minus first purchase day.
    pub t: f64,
    /// Mean value of the repeat purchase days (0 when x = 0).
    pub m: f64,
}
