//! Mutated exports never crash the import: each of many deterministic random mutations (bytes
//! inserted, deleted or replaced, quotes, separators, line breaks, invalid UTF-8, multi-byte
//! characters) either imports with read = loaded + rejected per file or fails with a clear error.

mod common;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shoplens::import::ImportError;

const FILES: [(&str, &str); 5] = [
    (
        "customers.csv",
        "customer_id,customer_name,city,region,country,signup_date\nC1,\"Zoë, Jr.\",Köln,NRW,DE,2024-01-01\nC2,Bob,Paris,IDF,FR,\n",
    ),
    (
        "products.csv",
        "product_id,product_name,category,unit_cost,list_price\nP1,\"Mug \"\"XL\"\"\",Home,2.5,10\nP2,Lamp,,5,40.0001\n",
    ),
    (
        "orders.csv",
        "order_id,customer_id,order_ts,status\nO1,C1,2024-01-05T10:00:00+01:00,delivered\nO2,C2,2024-02-10 12:00,Canceled\nO3,G9,2024-03-01,shipped\n",
    ),
    (
        "order_items.csv",
        "order_id,line_no,product_id,quantity,unit_price,discount\nO1,1,P1,2,10.00,1\nO1,2,P2,1,40,\nO2,1,P9,3,5.5,0\nO3,1,P1,1,10,\n",
    ),
    (
        "payments.csv",
        "order_id,payment_seq,method,installments,amount\nO1,1,credit_card,3,59\nO2,1,PayPal,,16.5\nO3,1,gift_card,1,10\n",
    ),
];

const PIECES: [&[u8]; 14] = [
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\xff",
    b"\xc3",
    "é".as_bytes(),
    "日本".as_bytes(),
    b"-",
    b".",
    b"9999999999999999999",
    b"\x00",
    b" ",
    b"+01:00",
];

fn mutate(rng: &mut ChaCha8Rng, text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..6) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..3) {
            0 => {
                let piece = PIECES[rng.random_range(0..PIECES.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ if at < bytes.len() => bytes[at] = rng.random(),
            _ => {}
        }
    }
    bytes
}

#[tokio::test]
async fn mutated_exports_are_imported_or_refused_never_crash() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261124);
    let (mut imported, mut refused) = (0, 0);
    for _ in 0..400 {
        let dir = tempfile::tempdir().unwrap();
        let victim = rng.random_range(0..FILES.len());
        for (i, (name, text)) in FILES.iter().enumerate() {
            let content = if i == victim { mutate(&mut rng, text) } else { text.as_bytes().to_vec() };
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        let wh = tempfile::tempdir().unwrap();
        match common::import(dir.path(), wh.path()).await {
            Ok(report) => {
                imported += 1;
                for (file, c) in &report.files {
                    assert_eq!(c.read, c.loaded + c.rejected, "{file}");
                }
                // the warehouse it wrote answers
                common::kpis(wh.path(), &shoplens::model::Filter::default()).await;
            }
            Err(ImportError::Source(e)) => {
                refused += 1;
                assert!(FILES.iter().any(|(name, _)| e.to_string().starts_with(name)), "{e}");
            }
            Err(e) => panic!("unexpected failure: {e}"),
        }
    }
    assert!(imported > 80 && refused > 0, "imported {imported}, refused {refused}");
}
