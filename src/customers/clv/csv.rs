//! A per-customer summary as a CSV file (the CDNOW sample's layout), both ways.

use super::summary::Summary;

/// Writes a summary as CSV with header `ID,x,t_x,T,zbar` (what [`read_summary`] reads).
///
/// # Errors
/// The file cannot be written.
pub(crate) fn write_summary(rows: &[Summary], path: &std::path::Path) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["ID", "x", "t_x", "T", "zbar"])?;
    for r in rows {
        w.write_record([
            crate::model::text::csv_safe(&r.id).into_owned(),
            r.x.to_string(),
            r.t_x.to_string(),
            r.t.to_string(),
            r.m.to_string(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a summary CSV with header `ID,x,t_x,T,zbar` (the CDNOW sample's layout).
///
/// # Errors
/// The file cannot be read, or a row is not numbers; the message names the line.
pub fn read_summary(path: &std::path::Path) -> Result<Vec<Summary>, String> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let header = rdr.headers().map_err(|e| format!("{}: {e}", path.display()))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("{}: no column {name} (the header must be ID,x,t_x,T,zbar)", path.display()))
    };
    let (id, x, t_x, t, zbar) = (col("ID")?, col("x")?, col("t_x")?, col("T")?, col("zbar")?);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| format!("{}: line {line}: {e}", path.display()))?;
        let num = |at: usize, name: &str| {
            rec.get(at)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{}: line {line}, column {name}: not a number >= 0", path.display()))
        };
        out.push(Summary {
            id: rec.get(id).unwrap_or_default().to_string(),
            x: num(x, "x")?,
            t_x: num(t_x, "t_x")?,
            t: num(t, "T")?,
            m: num(zbar, "zbar")?,
        });
    }
    Ok(out)
}
