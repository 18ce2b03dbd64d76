//! The warehouse remembers every import (source, checksums, counts) and keeps each one's rejects.

mod common;

use sha2::{Digest, Sha256};
use std::process::Command;

fn sha256(path: &std::path::Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn status_lists_every_import_with_checksums_and_keeps_their_rejects() {
    let shop = common::shop(51, 400);
    let wh = tempfile::tempdir().unwrap();
    let first = common::import(shop.path(), wh.path()).await.unwrap();
    let first_sum = sha256(&shop.path().join("orders.csv"));
    // the second export has one bad order row
    let mut orders = std::fs::read_to_string(shop.path().join("orders.csv")).unwrap();
    orders.push_str("O-BAD,C1,not a time,delivered\n");
    std::fs::write(shop.path().join("orders.csv"), &orders).unwrap();
    let second = common::import(shop.path(), wh.path()).await.unwrap();
    // a failed import leaves no record
    std::fs::write(shop.path().join("payments.csv"), "order_id\n").unwrap();
    assert!(common::import(shop.path(), wh.path()).await.is_err());

    let out = Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["status", "--warehouse", wh.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let imports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let imports = imports.as_array().unwrap();
    assert_eq!(imports.len(), 2);
    assert_eq!(imports[0]["id"], first.version.as_str());
    assert_eq!(imports[1]["id"], second.version.as_str());
    assert_eq!(imports[0]["checksums"]["orders.csv"], first_sum.as_str());
    assert_eq!(imports[1]["checksums"]["orders.csv"], sha256(&shop.path().join("orders.csv")).as_str());
    assert_eq!(imports[1]["checksums"]["products.csv"], sha256(&shop.path().join("products.csv")).as_str());
    assert_eq!(imports[1]["files"]["orders.csv"], serde_json::json!({"read": 401, "loaded": 400, "rejected": 1}));

    // both imports' rejects are kept in the current version, by import id
    let current = wh.path().join(&second.version).join("rejects");
    let old = std::fs::read_to_string(current.join(format!("{}.csv", first.version))).unwrap();
    let new = std::fs::read_to_string(current.join(format!("{}.csv", second.version))).unwrap();
    assert_eq!(old.lines().count(), 1, "{old}");
    assert!(new.contains("O-BAD") && new.contains("column order_ts"), "{new}");
}

#[tokio::test]
async fn status_verify_checks_every_file_against_its_checksum_from_publish() {
    let shop = common::shop(52, 300);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let verify = || {
        Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["status", "--warehouse", wh.path().to_str().unwrap(), "--verify"])
            .output()
            .unwrap()
    };
    let out = verify();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("files match their checksums"));
    // an append links the months it leaves alone; the new version verifies too
    let opts = shoplens::import::ImportOptions { append: true, ..Default::default() };
    shoplens::import::import_export(shop.path(), &shoplens::warehouse::Store::new(wh.path()), &opts).await.unwrap();
    assert!(verify().status.success());
    // one byte changed in a month's file, another file gone: both named, exit 1
    let version = shoplens::warehouse::Store::new(wh.path()).current().unwrap().dir;
    let months = version.join("fact_order_line");
    let mut files: Vec<_> = std::fs::read_dir(&months).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let (changed, gone) = (&files[0], &files[1]);
    // a hard link shares its bytes with the previous version: write a new file instead
    let mut bytes = std::fs::read(changed).unwrap();
    bytes[10] ^= 1;
    std::fs::remove_file(changed).unwrap();
    std::fs::write(changed, bytes).unwrap();
    std::fs::remove_file(gone).unwrap();
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let name = |p: &std::path::Path| format!("fact_order_line/{}", p.file_name().unwrap().to_string_lossy());
    assert!(err.contains(&format!("changed: {}", name(changed))), "{err}");
    assert!(err.contains(&format!("missing: {}", name(gone))), "{err}");
}
