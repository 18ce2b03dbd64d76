//! Any bytes as any of the six source files (the five and `refunds.csv`): the reader and the row parsers must answer with a
//! row, a reject reason or a file error — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoplens_source::model::ShopTz;
use shoplens_source::source::records::{CustomerRec, ItemRec, OrderRec, PaymentRec, ProductRec, RefundRec};
use shoplens_source::source::{Encoding, SourceFile, TableReader};
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("shoplens-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    });
    let (selector, bytes) = data.split_first().unwrap_or((&0, &[]));
    let files = [SourceFile::ALL.as_slice(), SourceFile::OPTIONAL.as_slice()].concat();
    let file = files[*selector as usize % files.len()];
    let encoding = if selector & 0x80 != 0 { Encoding::Latin1 } else { Encoding::Utf8 };
    std::fs::write(dir.join(file.file_name()), bytes).unwrap();
    let Ok(mut reader) = TableReader::open(dir, file, encoding) else { return };
    while let Ok(Some(row)) = reader.next_row() {
        let Ok(row) = row else { continue };
        let _ = match file {
            SourceFile::Customers => CustomerRec::parse(&row).map(|_| ()),
            SourceFile::Products => ProductRec::parse(&row).map(|_| ()),
            SourceFile::Orders => OrderRec::parse(&row, ShopTz::default()).map(|_| ()),
            SourceFile::OrderItems => ItemRec::parse(&row).map(|_| ()),
            SourceFile::Payments => PaymentRec::parse(&row).map(|_| ()),
            SourceFile::Refunds => RefundRec::parse(&row, ShopTz::default()).map(|_| ()),
        };
    }
});
