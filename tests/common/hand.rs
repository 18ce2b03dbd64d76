//! The hand-worked tiny shop: three customers, three products (and a retired one), seven
//! orders from January to April 2024, one cancelled and one returned. `hand_shop.rs` works out
//! every KPI of it, `insights.rs` a two-period bridge.

pub const CUSTOMERS: &str = "customer_id,customer_name,country\nC1,Ann,DE\nC2,Bob,FR\nC3,\"Zoë, Jr.\",\n";
pub const PRODUCTS: &str =
    "product_id,product_name,category,list_price\nP1,Mug,Home,10\nP2,Lamp,Home,40\nP3,Book,Books,15.5\n";
// O4 is cancelled and O6 returned: not revenue orders. G9 is a guest, P9 a retired product.
pub const ORDERS: &str = "order_id,customer_id,order_ts,status
O1,C1,2024-01-05T10:00:00,delivered
O2,C1,2024-02-10T12:00:00,shipped
O3,C2,2024-02-11T09:00:00,processing
O4,C3,2024-03-01T08:00:00,cancelled
O5,C2,2024-04-02T08:00:00,delivered
O6,G9,2024-04-03T08:00:00,returned
O7,G9,2024-04-20T08:00:00,delivered
";
pub const ITEMS: &str = "order_id,line_no,product_id,quantity,unit_price,discount
O1,1,P1,2,10.00,
O1,2,P3,1,15.50,0.50
O2,1,P2,1,40.00,0
O3,1,P1,3,10.00,3
O3,2,P9,1,5,
O4,1,P2,1,40,
O5,1,P3,2,15.50,
O6,1,P1,1,10,
O7,1,P2,1,33.3333,
";
pub const PAYMENTS: &str = "order_id,payment_seq,method,installments,amount
O1,1,credit_card,3,35.00
O2,1,paypal,,40.00
O3,1,credit_card,6,20.00
O3,2,gift_card,1,12.00
O4,1,paypal,1,40.00
O5,1,PayPal,1,31.00
O7,1,bank_transfer,1,33.3333
";

pub fn shop() -> tempfile::TempDir {
    super::export(&[
        ("customers.csv", CUSTOMERS),
        ("products.csv", PRODUCTS),
        ("orders.csv", ORDERS),
        ("order_items.csv", ITEMS),
        ("payments.csv", PAYMENTS),
    ])
}
