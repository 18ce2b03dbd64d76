//! The OpenAPI document, derived from the analysis catalog, against the server it describes:
//! `scripts/openapi_check.py` validates it with openapi-spec-validator (PyPI), then calls every
//! path it documents with each parameter it documents and checks every answer's status and body
//! against the document. `scripts/test.sh` installs the validator; elsewhere the test says what
//! is missing.

use std::path::Path;
use std::process::Command;

#[test]
fn the_document_is_valid_and_every_documented_call_gets_what_it_says() {
    let ready = Command::new("python3")
        .args(["-c", "import openapi_spec_validator, jsonschema, referencing"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        assert!(std::env::var("CI").is_err(), "CI lacks openapi-spec-validator");
        eprintln!("skipped: needs `pip install openapi-spec-validator` (as scripts/test.sh does)");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/openapi_check.py");
    let out = Command::new("python3").arg(script).arg(env!("CARGO_BIN_EXE_shoplens")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // the check ran over every path, not over an empty document
    let summary = stdout.lines().find(|l| l.starts_with("openapi-check:")).expect("a summary line");
    let paths = shoplens::analysis::routes().len() + 2; // and /healthz, /api/status
    assert!(summary.contains(&format!(" {paths} paths")) && summary.contains(" 0 failures"), "{summary}");
}
