//! The import of a flat export: converted by its mapping into the canonical files in a scratch
//! folder, imported from there with every rule, and recorded as the user's file (its name in
//! the rejects, its SHA-256 and the mapping's in the import record).

use super::import_export;
use super::options::{ImportError, ImportOptions, ImportReport, Origin};
use super::stage::Scratch;
use crate::source::flat::{self, Converted, FlatError, Mapping};
use crate::warehouse::Store;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Why a flat import failed; the warehouse then stays as it was.
#[derive(Debug, thiserror::Error)]
pub enum FlatImportError {
    /// The file does not fit its mapping, or cannot be read.
    #[error(transparent)]
    Flat(#[from] FlatError),
    /// The converted files' import failed or was refused.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The scratch folder cannot be written.
    #[error("{0}: {1}")]
    Scratch(PathBuf, std::io::Error),
}

/// How the flat file was mapped, for the import record.
pub struct MappingSource<'a> {
    /// The mapping.
    pub mapping: &'a Mapping,
    /// Its name: the mapping file's path, or `preset NAME`.
    pub name: String,
    /// Its text, whose SHA-256 is recorded.
    pub text: &'a str,
}

/// Converts `file` by its mapping and imports it into `store`. `opts.origin` and the currency
/// (when the mapping names one and `opts` does not) are filled in here.
///
/// # Errors
/// The mapping does not fit the file, or the import fails or is refused.
pub async fn import_flat(
    file: &Path,
    mapping: MappingSource<'_>,
    store: &Store,
    opts: &ImportOptions,
) -> Result<(Converted, ImportReport), FlatImportError> {
    let scratch = Scratch::new("convert").map_err(|e| FlatImportError::Scratch(std::env::temp_dir(), e))?;
    let converted = flat::convert(file, mapping.mapping, scratch.path())?;
    let mut checksums = std::collections::BTreeMap::new();
    checksums.insert(converted.file_name.clone(), converted.sha256.clone());
    checksums.insert("mapping".to_string(), format!("{:x}", Sha256::digest(mapping.text.as_bytes())));
    let said = mapping.mapping.file.currency.as_ref().or(converted.currency.as_ref());
    if let (Some(file), Some(column)) = (&mapping.mapping.file.currency, &converted.currency)
        && !file.eq_ignore_ascii_case(column)
    {
        return Err(FlatError::Mapping(format!(
            "[file] currency is {file} but the file's currency column says {column}: give one"
        ))
        .into());
    }
    if let (Some(given), Some(code)) = (&opts.currency, said)
        && !code.eq_ignore_ascii_case(given.code())
    {
        return Err(FlatError::Mapping(format!(
            "--currency {} but the export says {code}: amounts of one currency cannot be labelled another",
            given.code()
        ))
        .into());
    }
    let currency = match (&opts.currency, said) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(code)) => Some(crate::model::Currency::parse(code).map_err(FlatError::Mapping)?),
        (None, None) => None,
    };
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let opts = ImportOptions {
        source_name: Some(opts.source_name.clone().unwrap_or_else(|| absolute.display().to_string())),
        origin: Some(Origin { file_name: converted.file_name.clone(), checksums, mapping: mapping.name }),
        currency,
        // the flag said outright wins over what the mapping says or the file shows
        taxes_included: opts.taxes_included || converted.taxes_included.unwrap_or(false),
        assumptions: converted.assumptions.clone(),
        ..opts.clone()
    };
    let report = import_export(scratch.path(), store, &opts).await?;
    Ok((converted, report))
}
