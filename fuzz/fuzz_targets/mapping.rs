//! Any text as a mapping, and any bytes as the flat file it reads: an error or a conversion,
//! never a panic; the mapping `--detect` proposes for those bytes parses or is refused, never a
//! panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoplens_source::source::flat::{Mapping, convert, detect};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("shoplens-fuzz-map-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    });
    // the input is "mapping\0flat file"
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let (text, flat) = (String::from_utf8_lossy(&data[..split]), data.get(split + 1..).unwrap_or(&[]));
    let mapping = Mapping::parse(&text).or_else(|_| Mapping::preset("shopify")).unwrap();
    let input = dir.join("flat.csv");
    std::fs::write(&input, flat).unwrap();
    if let Ok(d) = detect::detect_file(&input) {
        let _ = Mapping::parse(&d.toml);
    }
    let _ = convert(&input, &mapping, &dir.join("out"));
});
