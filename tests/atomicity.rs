//! An import replaces the warehouse atomically: a failed, killed or concurrent import leaves the
//! previous version's KPIs exactly as they were.

mod common;

use shoplens::import::ImportError;
use shoplens::model::Filter;
use shoplens::warehouse::Store;
use shoplens::warehouse::store::StoreError;
use std::process::{Command, Stdio};
use std::time::Duration;

fn staging_dirs(wh: &std::path::Path) -> usize {
    std::fs::read_dir(wh)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging-"))
        .count()
}

#[tokio::test]
async fn a_failing_import_leaves_the_previous_warehouse_unchanged() {
    let first = common::shop(11, 2000);
    let wh = tempfile::tempdir().unwrap();
    common::import(first.path(), wh.path()).await.unwrap();
    let before = common::kpis(wh.path(), &Filter::default()).await;
    let manifest = std::fs::read_to_string(wh.path().join("CURRENT")).unwrap();

    // a second export, valid except that one file lacks a required column
    let second = common::shop(12, 2500);
    std::fs::write(second.path().join("payments.csv"), "order_id,payment_seq,installments,amount\n").unwrap();
    let err = common::import(second.path(), wh.path()).await.unwrap_err();
    assert!(err.to_string().contains("payments.csv"), "{err}");

    assert_eq!(std::fs::read_to_string(wh.path().join("CURRENT")).unwrap(), manifest);
    assert_eq!(common::kpis(wh.path(), &Filter::default()).await, before);
    assert_eq!(staging_dirs(wh.path()), 0);
}

#[tokio::test]
async fn a_second_import_at_the_same_time_fails_clearly() {
    let shop = common::shop(13, 300);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let lock = Store::new(wh.path()).lock().unwrap();
    let err = common::import(shop.path(), wh.path()).await.unwrap_err();
    assert!(matches!(err, ImportError::Store(StoreError::Locked(_))), "{err}");
    assert!(err.to_string().contains("another import is running"));
    drop(lock);
    common::import(shop.path(), wh.path()).await.unwrap();
}

#[tokio::test]
async fn a_killed_import_leaves_the_previous_version_and_the_next_import_cleans_up() {
    let first = common::shop(21, 1500);
    let second = common::shop(22, 60_000);
    let wh = tempfile::tempdir().unwrap();
    common::import(first.path(), wh.path()).await.unwrap();
    let before = common::kpis(wh.path(), &Filter::default()).await;
    let reference = tempfile::tempdir().unwrap();
    common::import(second.path(), reference.path()).await.unwrap();
    let after = common::kpis(reference.path(), &Filter::default()).await;
    assert_ne!(before, after);
    let mut killed_midway = 0;
    for delay_ms in [5, 20, 60, 120, 250, 400, 700] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shoplens"))
            .args(["import", second.path().to_str().unwrap(), "--warehouse", wh.path().to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // a reader sees the old version or, if the kill came after the publish, the new one
        let seen = common::kpis(wh.path(), &Filter::default()).await;
        if finished || seen == after {
            break;
        }
        assert_eq!(seen, before, "after a kill at {delay_ms} ms");
        killed_midway += 1;
    }
    assert!(killed_midway >= 3, "the import finished too fast to be killed midway");
    // the next import takes over: leftovers gone, the new version published
    common::import(second.path(), wh.path()).await.unwrap();
    assert_eq!(staging_dirs(wh.path()), 0);
    assert_eq!(common::kpis(wh.path(), &Filter::default()).await, after);
}
