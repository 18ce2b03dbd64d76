mod common;
use shoplens::model::{MemoryLimit};
use shoplens::warehouse::{Store, Warehouse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe() {
    let shop = common::shop(23, 200_000);
    let wh = tempfile::tempdir().unwrap();
    common::import(shop.path(), wh.path()).await.unwrap();
    let w = Warehouse::open_limited(&Store::new(wh.path()), MemoryLimit::scaled_down((512 << 20) / 50), 1).await.unwrap();
    let f = common::filter(shoplens::model::filter::FilterParams { country: Some("DE"), ..Default::default() });
    let vs: shoplens::metrics::compare::Versus = Default::default();
    match shoplens::insights::bridge::explain(&w, &f, vs).await { Ok(_) => eprintln!("explain ok"), Err(e) => eprintln!("explain: {e:?}") }
    match shoplens::insights::alerts::alerts(&w).await { Ok(_) => eprintln!("alerts ok"), Err(e) => eprintln!("alerts: {e:?}") }
    let t = std::time::Instant::now();
    let r = shoplens::customers::clv::clv(&w, &Default::default(), &Default::default()).await;
    eprintln!("clv {:?} in {:?}", r.is_ok(), t.elapsed());
}
