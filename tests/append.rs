//! `import --append`: a newer export adds orders and replaces the ones seen before; the result
//! equals importing the merged export at once (checked against the independent oracle), appending
//! the same export again changes nothing, and surrogate keys survive.

mod common;

use common::oracle::{self, OracleFilter};
use shoplens::import::{ImportOptions, import_export};
use shoplens::model::Filter;
use shoplens::warehouse::{Store, Warehouse, query};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

type Rows = Vec<Vec<String>>;

fn read(dir: &Path, file: &str) -> (Vec<String>, Rows) {
    let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    (header, r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect())
}

fn write(dir: &Path, file: &str, header: &[String], rows: &[Vec<String>]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut w = csv::Writer::from_path(dir.join(file)).unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

async fn append(src: &Path, wh: &Path) {
    let opts = ImportOptions { append: true, ..Default::default() };
    let report = import_export(src, &Store::new(wh), &opts).await.unwrap();
    assert!(report.files.values().all(|c| c.rejected == 0), "{report:?}");
}

/// A query's result as rows of display strings.
async fn table(wh: &Path, sql: &str) -> Rows {
    let w = Warehouse::open(&Store::new(wh)).await.unwrap();
    let batches = query::read_only(&w, sql, Duration::from_secs(30)).await.unwrap();
    let cell = |a: &datafusion::arrow::array::ArrayRef, r| {
        datafusion::arrow::util::display::array_value_to_string(a, r).unwrap()
    };
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |r| b.columns().iter().map(|a| cell(a, r)).collect()))
        .collect()
}

/// Asserts that each derived table holds exactly what its definition computes over the facts.
async fn assert_derived_tables_match_the_facts(wh: &Path) {
    for (name, definition) in shoplens::warehouse::derived::definitions() {
        let differ = format!(
            "SELECT COUNT(*) FROM ((SELECT * FROM {name} EXCEPT ALL SELECT * FROM ({definition}) d) \
             UNION ALL (SELECT * FROM ({definition}) d EXCEPT ALL SELECT * FROM {name})) x"
        );
        assert_eq!(table(wh, &differ).await, [["0"]], "{name} differs from its definition");
        let rows = table(wh, &format!("SELECT COUNT(*) FROM {name}")).await;
        assert_ne!(rows, [["0"]], "{name} is empty");
    }
}

#[tokio::test]
async fn appending_a_newer_export_equals_importing_the_merged_one() {
    let shop = common::shop(61, 3000);
    let root = tempfile::tempdir().unwrap();
    let (a, b, merged) = (root.path().join("a"), root.path().join("b"), root.path().join("merged"));

    let (oh, orders) = read(shop.path(), "orders.csv");
    let (ih, items) = read(shop.path(), "order_items.csv");
    let (ph, payments) = read(shop.path(), "payments.csv");
    let (ch, mut customers) = read(shop.path(), "customers.csv");
    let (prh, products) = read(shop.path(), "products.csv");
    let old: Vec<&Vec<String>> = orders.iter().filter(|o| o[2].as_str() < "2023-07-01").collect();
    let new: Vec<&Vec<String>> = orders.iter().filter(|o| o[2].as_str() >= "2023-07-01").collect();
    // the newer export: the new orders, every 10th old one returned (with its lines and payments
    // listed again) and every 25th old one cancelled (the order row alone)
    let mut newer: Rows = new.iter().map(|o| o.to_vec()).collect();
    let mut relisted: HashSet<String> = HashSet::new();
    let mut latest: std::collections::HashMap<String, Vec<String>> =
        orders.iter().map(|o| (o[0].clone(), o.clone())).collect();
    for (i, o) in old.iter().enumerate() {
        let mut changed = o.to_vec();
        if i % 10 == 0 {
            changed[3] = "returned".into();
            relisted.insert(o[0].clone());
        } else if i % 25 == 0 {
            changed[3] = "cancelled".into();
        } else {
            continue;
        }
        latest.insert(o[0].clone(), changed.clone());
        newer.push(changed);
    }
    let in_new: HashSet<&str> = new.iter().map(|o| o[0].as_str()).collect();
    let keep =
        |rows: &Rows, ids: &dyn Fn(&str) -> bool| -> Rows { rows.iter().filter(|r| ids(&r[0])).cloned().collect() };
    let old_ids: HashSet<&str> = old.iter().map(|o| o[0].as_str()).collect();
    write(&a, "orders.csv", &oh, &old.iter().map(|o| o.to_vec()).collect::<Vec<_>>());
    write(&a, "order_items.csv", &ih, &keep(&items, &|id| old_ids.contains(id)));
    write(&a, "payments.csv", &ph, &keep(&payments, &|id| old_ids.contains(id)));
    write(&a, "customers.csv", &ch, &customers);
    write(&a, "products.csv", &prh, &products);
    let in_b = |id: &str| in_new.contains(id) || relisted.contains(id);
    write(&b, "orders.csv", &oh, &newer);
    write(&b, "order_items.csv", &ih, &keep(&items, &in_b));
    write(&b, "payments.csv", &ph, &keep(&payments, &in_b));
    // a customer renamed in the newer export keeps its key
    customers[0][1] = "Renamed Person".into();
    write(&b, "customers.csv", &ch, &customers);
    write(&b, "products.csv", &prh, &products);
    let merged_orders: Rows = orders.iter().map(|o| latest[&o[0]].clone()).collect();
    write(&merged, "orders.csv", &oh, &merged_orders);
    write(&merged, "order_items.csv", &ih, &items);
    write(&merged, "payments.csv", &ph, &payments);
    write(&merged, "customers.csv", &ch, &customers);
    write(&merged, "products.csv", &prh, &products);

    let wh = tempfile::tempdir().unwrap();
    // small customer parts, so that the append rewrites some and links others
    let first = ImportOptions { key_chunk: Some(97), ..Default::default() };
    import_export(&a, &Store::new(wh.path()), &first).await.unwrap();
    let keys_before =
        table(wh.path(), "SELECT customer_key, customer_id FROM dim_customer ORDER BY customer_key").await;
    assert_derived_tables_match_the_facts(wh.path()).await;
    append(&b, wh.path()).await;
    assert_derived_tables_match_the_facts(wh.path()).await;
    // the new lines, the old ones of the months touched and the lines that waited for their
    // order's shares are three runs, each month's merged in order
    common::assert_sorted(wh.path());

    // the filters read the derived tables: a method over a range that starts and ends mid-month
    let method = payments[0][2].clone();
    for (params, of) in [
        (Filter::default(), OracleFilter { top: 10, ..Default::default() }),
        (
            Filter::parse(shoplens::model::filter::FilterParams {
                from: Some("2023-02-14"),
                to: Some("2024-03-17"),
                method: Some(&method),
                ..Default::default()
            })
            .unwrap(),
            OracleFilter {
                from: Some("2023-02-14".into()),
                to: Some("2024-03-17".into()),
                method: Some(method.clone()),
                top: 10,
                ..Default::default()
            },
        ),
        (
            Filter::parse(shoplens::model::filter::FilterParams {
                country: Some("FR"),
                top: Some("20"),
                ..Default::default()
            })
            .unwrap(),
            OracleFilter { country: Some("FR".into()), top: 20, ..Default::default() },
        ),
    ] {
        let got = common::kpis(wh.path(), &params).await;
        assert_eq!(oracle::diff(&got, &oracle::kpis(&merged, &of), "kpis"), None);
    }
    let after = common::kpis(wh.path(), &Filter::default()).await;
    let renamed =
        table(wh.path(), &format!("SELECT customer_name FROM dim_customer WHERE customer_id = '{}'", customers[0][0]))
            .await;
    assert_eq!(renamed, [["Renamed Person"]]);

    // the same export again: nothing changes, keys included
    let keys_after = table(wh.path(), "SELECT customer_key, customer_id FROM dim_customer ORDER BY customer_key").await;
    append(&b, wh.path()).await;
    assert_eq!(common::kpis(wh.path(), &Filter::default()).await, after);
    assert_derived_tables_match_the_facts(wh.path()).await;
    assert_eq!(
        table(wh.path(), "SELECT customer_key, customer_id FROM dim_customer ORDER BY customer_key").await,
        keys_after
    );
    // keys given by the first import survive (new customers only add keys after them)
    assert_eq!(keys_after[..keys_before.len()], keys_before[..]);
    // every order once, keys 1..n without gaps: replaced orders kept theirs
    let n = orders.len().to_string();
    let order_keys =
        table(wh.path(), "SELECT MIN(order_key), MAX(order_key), COUNT(*), COUNT(DISTINCT order_id) FROM fact_order")
            .await;
    assert_eq!(order_keys, [["1".to_string(), n.clone(), n.clone(), n]]);

    let status = std::process::Command::new(env!("CARGO_BIN_EXE_shoplens"))
        .args(["status", "--warehouse", wh.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let imports: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let modes: Vec<&str> = imports.as_array().unwrap().iter().map(|i| i["mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["replace", "append", "append"]);
}

/// The parts of a table in the current version: file name and inode.
fn parts(wh: &Path, table: &str) -> std::collections::BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt;
    let dir = Store::new(wh).current().unwrap().dir.join(table);
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().ino()))
        .collect()
}

#[tokio::test]
async fn an_append_rewrites_only_the_months_and_customer_parts_it_changes() {
    let shop = common::shop(62, 2000);
    let wh = tempfile::tempdir().unwrap();
    let first = ImportOptions { key_chunk: Some(50), ..Default::default() };
    import_export(shop.path(), &Store::new(wh.path()), &first).await.unwrap();
    let before: Vec<_> =
        ["fact_order", "fact_order_line", "fact_payment", "dim_customer"].iter().map(|t| parts(wh.path(), t)).collect();
    let customers = before[3].len();
    assert!(customers > 5 && before[0].len() > 12, "{before:?}");

    // one new order of a new customer in a month after the last, one old customer renamed
    let (ch, cs) = read(shop.path(), "customers.csv");
    let (oh, _) = read(shop.path(), "orders.csv");
    let (ih, _) = read(shop.path(), "order_items.csv");
    let (ph, _) = read(shop.path(), "payments.csv");
    let (prh, products) = read(shop.path(), "products.csv");
    let day = tempfile::tempdir().unwrap();
    let mut renamed = cs[120].clone();
    renamed[1] = "Someone Else".into();
    write(day.path(), "customers.csv", &ch, &[renamed.clone()]);
    write(day.path(), "products.csv", &prh, &products[..1]);
    let order =
        |id: &str| vec![id.to_string(), "NEW-CUSTOMER".into(), "2031-03-04T10:00:00".into(), "delivered".into()];
    write(day.path(), "orders.csv", &oh, &[order("NEW-1")]);
    let line = vec!["NEW-1".into(), "1".into(), products[0][0].clone(), "2".into(), "10.00".into(), "0".into()];
    write(day.path(), "order_items.csv", &ih, &[line]);
    write(
        day.path(),
        "payments.csv",
        &ph,
        &[vec!["NEW-1".into(), "1".into(), "paypal".into(), "1".into(), "20.00".into()]],
    );
    append(day.path(), wh.path()).await;

    for (i, table) in ["fact_order", "fact_order_line", "fact_payment"].iter().enumerate() {
        let after = parts(wh.path(), table);
        let mut added: Vec<&String> = after.keys().filter(|k| !before[i].contains_key(*k)).collect();
        added.sort();
        assert_eq!(added, ["2031-03.parquet"], "{table}");
        for (name, inode) in &before[i] {
            assert_eq!(after.get(name), Some(inode), "{table}/{name} was rewritten, not linked");
        }
    }
    // the renamed customer's part and the last part (the new customer's key) are rewritten
    let renamed_key =
        table(wh.path(), &format!("SELECT customer_key FROM dim_customer WHERE customer_id = '{}'", renamed[0])).await;
    let renamed_part = (renamed_key[0][0].parse::<i32>().unwrap() - 1) / 50;
    let after = parts(wh.path(), "dim_customer");
    let rewritten: Vec<&String> =
        after.iter().filter(|(k, ino)| before[3].get(*k) != Some(ino)).map(|(k, _)| k).collect();
    let last = after.keys().last().unwrap();
    let mut expected = vec![format!("keys-{renamed_part:06}.parquet"), last.clone()];
    expected.dedup();
    assert_eq!(rewritten, expected.iter().collect::<Vec<_>>());
    assert_eq!(
        table(wh.path(), &format!("SELECT customer_name FROM dim_customer WHERE customer_id = '{}'", renamed[0])).await,
        [["Someone Else"]]
    );
    let new_customer = table(wh.path(), "SELECT c.customer_key, o.order_key FROM fact_order o JOIN dim_customer c USING (customer_key) WHERE c.customer_id = 'NEW-CUSTOMER'").await;
    let counts = table(wh.path(), "SELECT COUNT(*), MAX(customer_key) FROM dim_customer").await;
    assert_eq!(new_customer[0][0], counts[0][1], "the new customer takes the next key");
    assert_eq!(counts[0][0], counts[0][1], "customer keys stay 1..n");
    let orders = table(wh.path(), "SELECT COUNT(*), MAX(order_key) FROM fact_order").await;
    assert_eq!(new_customer[0][1], orders[0][1]);
    assert_eq!(orders[0][0], orders[0][1], "order keys stay 1..n");
    let days = "SELECT CAST(MIN(date) AS VARCHAR), CAST(MAX(date) AS VARCHAR), COUNT(*) FROM dim_date";
    let first_day = table(wh.path(), days).await[0][0].clone();
    assert_eq!(table(wh.path(), days).await[0][1], "2031-03-04");

    // the newer version of that order moves it earlier: the days end with it
    let mut moved = order("NEW-1");
    moved[2] = "2031-01-10T09:00:00".into();
    write(day.path(), "orders.csv", &oh, &[moved]);
    append(day.path(), wh.path()).await;
    let span = table(wh.path(), days).await;
    assert_eq!((span[0][0].as_str(), span[0][1].as_str()), (first_day.as_str(), "2031-01-10"));
    let moved_month = parts(wh.path(), "fact_order_line");
    assert!(
        moved_month.contains_key("2031-01.parquet") && !moved_month.contains_key("2031-03.parquet"),
        "{moved_month:?}"
    );
}

/// Rewrites the current version of `wh` as an older shoplens wrote it: every table one file, no
/// `layout` in the manifest.
fn to_single_files(wh: &Path) {
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let store = Store::new(wh);
    let dir = store.current().unwrap().dir;
    for table in ["dim_customer", "fact_order", "fact_order_line", "fact_payment"] {
        let folder = dir.join(table);
        let mut files: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let mut writer: Option<ArrowWriter<std::fs::File>> = None;
        for f in &files {
            for batch in
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(f).unwrap()).unwrap().build().unwrap()
            {
                let batch = batch.unwrap();
                let w = writer.get_or_insert_with(|| {
                    let out = std::fs::File::create(dir.join(format!("{table}.parquet"))).unwrap();
                    ArrowWriter::try_new(out, batch.schema(), None).unwrap()
                });
                w.write(&batch).unwrap();
            }
        }
        writer.unwrap().close().unwrap();
        std::fs::remove_dir_all(folder).unwrap();
    }
    edit_manifest(wh, |m| {
        m.as_object_mut().unwrap().remove("layout");
        m.as_object_mut().unwrap().remove("key_chunk");
    });
}

/// Rewrites the current version's manifest through `edit`, as an older shoplens would have
/// written it.
fn edit_manifest(wh: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let manifest = wh.join("CURRENT");
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&manifest, m.to_string()).unwrap();
}

#[tokio::test]
async fn a_warehouse_of_single_files_is_refused_until_imported_again() {
    let shop = common::shop(63, 1500);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let before = common::kpis(wh.path(), &Filter::default()).await;
    to_single_files(wh.path());
    // it kept no refunds, shipping or channels: read as if it had none, a returned order could
    // count wrongly, so it is not read at all
    let err = match shoplens::warehouse::Warehouse::open(&Store::new(wh.path())).await {
        Ok(_) => panic!("an old layout was read"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("import the export again"), "{err}");

    let opts = ImportOptions { append: true, ..Default::default() };
    let err = import_export(shop.path(), &Store::new(wh.path()), &opts).await.unwrap_err();
    assert!(err.to_string().contains("import the whole export once without --append"), "{err}");
    assert_eq!(Store::new(wh.path()).current().unwrap().manifest.layout, 0, "the refused append changed nothing");
    // a full import moves it to the new layout, and appends work again
    common::import(shop.path(), wh.path()).await.unwrap();
    append(shop.path(), wh.path()).await;
    assert_eq!(common::kpis(wh.path(), &Filter::default()).await, before);
}

#[tokio::test]
async fn a_product_moved_to_another_category_counts_there_in_every_month() {
    let shop = common::shop(67, 1200);
    let (oh, orders) = read(shop.path(), "orders.csv");
    let (ih, items) = read(shop.path(), "order_items.csv");
    let (ph, payments) = read(shop.path(), "payments.csv");
    let (ch, customers) = read(shop.path(), "customers.csv");
    let (prh, mut products) = read(shop.path(), "products.csv");
    // the earliest order with lines in two categories; the append relists only the latest order,
    // so this order's month is one the append does not touch
    let category: std::collections::HashMap<String, String> =
        products.iter().map(|p| (p[0].clone(), p[2].clone())).collect();
    let mut by_day: Vec<&Vec<String>> = orders.iter().collect();
    by_day.sort_by(|a, b| a[2].cmp(&b[2]));
    let (moved, to) = by_day
        .iter()
        .find_map(|o| {
            let lines: Vec<&Vec<String>> = items.iter().filter(|i| i[0] == o[0]).collect();
            let first = &category[&lines.first()?[2]];
            let other = lines.iter().find(|i| &category[&i[2]] != first)?;
            Some((other[2].clone(), first.clone()))
        })
        .expect("an order with lines in two categories");
    products.iter_mut().filter(|p| p[0] == moved).for_each(|p| p[2] = to.clone());
    let latest = by_day.last().unwrap()[0].clone();
    let only_latest = |rows: &Rows| -> Rows { rows.iter().filter(|r| r[0] == latest).cloned().collect() };

    let root = tempfile::tempdir().unwrap();
    let (newer, merged) = (root.path().join("newer"), root.path().join("merged"));
    write(&newer, "orders.csv", &oh, &only_latest(&orders));
    write(&newer, "order_items.csv", &ih, &only_latest(&items));
    write(&newer, "payments.csv", &ph, &only_latest(&payments));
    write(&newer, "customers.csv", &ch, &customers);
    write(&newer, "products.csv", &prh, &products);
    for (file, header, rows) in
        [("orders.csv", &oh, &orders), ("order_items.csv", &ih, &items), ("payments.csv", &ph, &payments)]
    {
        write(&merged, file, header, rows);
    }
    write(&merged, "customers.csv", &ch, &customers);
    write(&merged, "products.csv", &prh, &products);

    let (wh, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    common::import(shop.path(), wh.path()).await.unwrap();
    append(&newer, wh.path()).await;
    assert_derived_tables_match_the_facts(wh.path()).await;
    common::import(&merged, whole.path()).await.unwrap();
    assert_eq!(common::kpis(wh.path(), &Filter::default()).await, common::kpis(whole.path(), &Filter::default()).await);
}

#[tokio::test]
async fn a_warehouse_of_the_previous_layout_is_refused_with_what_to_do() {
    // layout 4: the derived tables, without the books
    let shop = common::shop(69, 800);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    edit_manifest(wh.path(), |m| m["layout"] = 4.into());
    let err = match shoplens::warehouse::Warehouse::open(&Store::new(wh.path())).await {
        Ok(_) => panic!("the previous layout was read"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("(layout 4)") && err.contains("import the export again"), "{err}");
    let opts = ImportOptions { append: true, ..Default::default() };
    let err = import_export(shop.path(), &Store::new(wh.path()), &opts).await.unwrap_err();
    assert!(err.to_string().contains("import the whole export once without --append"), "{err}");
}
