//! How the fitted parameters and predictions serialize: rounded to a fixed number of decimals.

use serde::Serializer;

fn round_to<S: Serializer>(x: &f64, digits: i32, s: S) -> Result<S::Ok, S::Error> {
    let f = 10f64.powi(digits);
    s.serialize_f64((x * f).round() / f)
}
pub(super) fn r4<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 4, s)
}
pub(super) fn r1<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 1, s)
}
pub(super) fn r2<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 2, s)
}
pub(super) fn r6<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    round_to(x, 6, s)
}
