//! Each forecast candidate alone, and every equal-weight combination of them, under the benchmark
//! protocol (one step, the last 12 origins): a tool for choosing the method, not a test.
//! `cargo run --release --example forecast_candidates -- ../shared/data/series/*.csv`
use shoplens::forecast::{SEASONAL_MONTHS, Series, mase_scale, models::Model};

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let series: Vec<Series> =
        files.iter().map(|f| Series::read_csv(std::path::Path::new(f)).expect("a series file")).collect();
    // preds[s][m][o]: series s, model m, origin o
    let preds: Vec<Vec<Vec<f64>>> = series
        .iter()
        .map(|s| {
            let n = s.values.len();
            Model::SINGLE
                .iter()
                .map(|m| (n - 12..n).map(|o| m.forecast(&s.values[..o], 1, o >= SEASONAL_MONTHS)[0]).collect())
                .collect()
        })
        .collect();
    let gm_of = |members: &[usize]| -> (f64, Vec<f64>) {
        let mase: Vec<f64> = series
            .iter()
            .enumerate()
            .map(|(si, s)| {
                let n = s.values.len();
                let scale = mase_scale(&s.values[..n - 12]);
                (0..12)
                    .map(|o| {
                        let p = members.iter().map(|m| preds[si][*m][o]).sum::<f64>() / members.len() as f64;
                        (s.values[n - 12 + o] - p).abs()
                    })
                    .sum::<f64>()
                    / 12.0
                    / scale
            })
            .collect();
        ((mase.iter().map(|x| x.ln()).sum::<f64>() / mase.len() as f64).exp(), mase)
    };
    let mut rows: Vec<(f64, String, Vec<f64>)> = (1..(1usize << Model::SINGLE.len()))
        .map(|mask| {
            let members: Vec<usize> = (0..Model::SINGLE.len()).filter(|i| mask & (1 << i) != 0).collect();
            let (gm, per) = gm_of(&members);
            (gm, members.iter().map(|i| Model::SINGLE[*i].name()).collect::<Vec<_>>().join("+"), per)
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (gm, name, per) in rows.iter().filter(|r| !r.1.contains('+')).chain(rows.iter().take(15)) {
        println!("{gm:.3}  {}  {name}", per.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" "));
    }
}
