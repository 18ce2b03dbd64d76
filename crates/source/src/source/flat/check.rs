//! A mapping held against a flat file before any row is converted: every mapped column is in the
//! header (a typo gets the closest header as a suggestion), and each column's first rows read as
//! its field's kind (amounts are amounts, dates parse with the format given, statuses are
//! statuses). A mistake is an error naming the field, the column, a line and a value.

use super::{FieldSource, FlatError, Kind, Mapping, REQUIRED, detect};
use std::collections::BTreeMap;

/// Rows of the file's start that the check and [`detect`](super::detect) read.
pub const SAMPLE_ROWS: usize = 1000;

/// A field's source with its column's place in the header.
pub struct Bound<'m> {
    /// The mapping's source of the field.
    pub source: &'m FieldSource,
    /// The column's index, `None` for a constant.
    pub at: Option<usize>,
}

impl Bound<'_> {
    /// The field's value in `record`: the column's trimmed text through the value map, or the
    /// constant.
    pub fn value<'a>(&self, record: &'a csv::StringRecord) -> std::borrow::Cow<'a, str> {
        match self.source {
            FieldSource::Column(_) => self.at.and_then(|i| record.get(i)).unwrap_or("").trim().into(),
            FieldSource::Spec { constant: Some(c), .. } => c.clone().into(),
            FieldSource::Spec { map, .. } => {
                let raw = self.at.and_then(|i| record.get(i)).unwrap_or("").trim();
                match map.iter().find(|(k, _)| k.eq_ignore_ascii_case(raw)) {
                    Some((_, v)) => v.clone().into(),
                    None => raw.into(),
                }
            }
        }
    }
}

/// The mapping bound to a header: the fields it can fill, and the optional ones a preset names
/// whose column this export lacks (left empty).
pub struct Binding<'m> {
    /// Field name -> its bound source.
    pub fields: BTreeMap<&'m str, Bound<'m>>,
    /// `field (column 'X')` for each preset field left empty.
    pub missing: Vec<String>,
}

/// Binds `mapping` to `header` and checks it on `sample` (`(line, record)` of the file's first
/// rows).
///
/// # Errors
/// A mapped column not in the header (a preset may lack optional ones), a column named twice in
/// the header, a status value that is not one of the format's, or a column most of whose sampled
/// values do not read as its field's kind.
pub fn check<'m>(
    file: &str,
    mapping: &'m Mapping,
    header: &[String],
    sample: &[(u64, csv::StringRecord)],
) -> Result<Binding<'m>, FlatError> {
    let err = |message: String| FlatError::File { file: file.to_string(), message };
    let mut binding = Binding { fields: BTreeMap::new(), missing: Vec::new() };
    for (name, source) in &mapping.fields {
        let at = match source.column() {
            None => None,
            Some(c) => {
                let found: Vec<usize> =
                    (0..header.len()).filter(|&i| header[i].eq_ignore_ascii_case(c.trim())).collect();
                match found[..] {
                    [i] => Some(i),
                    [] if mapping.preset.is_some() && !REQUIRED.contains(&name.as_str()) => {
                        // a preset names every column its format may have; this export lacks one
                        binding.missing.push(format!("{name} (column '{c}')"));
                        continue;
                    }
                    [] => return Err(err(not_in_header(name, c, header))),
                    _ => {
                        return Err(err(format!(
                            "the header has {} columns named '{c}' (mapped to {name}): rename them so each is \
                             named once",
                            found.len()
                        )));
                    }
                }
            }
        };
        binding.fields.insert(name.as_str(), Bound { source, at });
    }
    for (name, bound) in &binding.fields {
        let Some(at) = bound.at else { continue };
        check_values(name, &header[at], bound, mapping, sample).map_err(err)?;
    }
    Ok(binding)
}

/// The error for a mapped column the header lacks, with the closest header name.
fn not_in_header(field: &str, column: &str, header: &[String]) -> String {
    let wanted = column.trim().to_lowercase();
    let closest = header
        .iter()
        .map(|h| (strsim::normalized_damerau_levenshtein(&wanted, &h.to_lowercase()), h))
        .filter(|(score, _)| *score >= 0.5)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let hint = match closest {
        Some((_, h)) => format!("; did you mean '{h}'?"),
        None => format!(" (its columns: {})", header.join(", ")),
    };
    format!("the header has no column '{column}' (mapped to {field}){hint}")
}

/// Reads the sampled values of one bound column as its field's kind.
fn check_values(
    field: &str,
    column: &str,
    bound: &Bound,
    mapping: &Mapping,
    sample: &[(u64, csv::StringRecord)],
) -> Result<(), String> {
    let kind = Kind::of(field);
    if kind == Kind::Text {
        return Ok(());
    }
    let format = mapping.ts_format();
    let (mut good, mut bad) = (0usize, Vec::new());
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    for (line, record) in sample {
        let v = bound.value(record);
        if v.is_empty() {
            continue;
        }
        match kind.read(&v, &mapping.file, format) {
            Ok(()) => good += 1,
            Err(reason) => {
                if kind == Kind::Status {
                    *unknown.entry(v.to_string()).or_default() += 1;
                }
                bad.push((*line, v.to_string(), reason));
            }
        }
    }
    let Some((line, _, reason)) = bad.first() else { return Ok(()) };
    match kind {
        // every status is a decision about revenue: none may be guessed
        Kind::Status => {
            let mut values: Vec<(&String, &usize)> = unknown.iter().collect();
            values.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let listed: Vec<String> = values.iter().take(8).map(|(v, n)| format!("'{v}' ({n} rows)")).collect();
            let example: Vec<String> = values
                .iter()
                .take(3)
                .map(|(v, _)| format!("{:?} = \"{}\"", v, detect::status_guess(v).unwrap_or("delivered")))
                .collect();
            Err(format!(
                "status is mapped to '{column}', whose values include some that are not statuses of the \
                 format (pending, processing, shipped, delivered, cancelled, returned): {} in the first {} \
                 rows; map each to one, e.g. status = {{ column = {column:?}, map = {{ {} }} }}",
                listed.join(", "),
                sample.len(),
                example.join(", ")
            ))
        }
        // a few bad values are rejected rows; a column that mostly does not read is the wrong column
        _ if bad.len() > good => {
            let hint = match kind {
                Kind::Timestamp => match detect::timestamp_format(sample.iter().map(|(_, r)| bound.value(r))) {
                    Some(f) => format!(
                        "; its values read with a format: order_ts = {{ column = {column:?}, format = \"{f}\" }}"
                    ),
                    None => String::new(),
                },
                _ => String::new(),
            };
            Err(format!(
                "{field} is mapped to '{column}', but {} of the {} non-empty values in the first {} rows do not \
                 read, e.g. line {line}: {reason}{hint}",
                bad.len(),
                bad.len() + good,
                sample.len()
            ))
        }
        _ => Ok(()),
    }
}
