//! The star schema: every warehouse table's Arrow schema, with a comment per column, and the SQL
//! DDL printed by `shoplens schema`. This file is the one definition of the warehouse's shape.

use crate::model::money::{MONEY_PRECISION, MONEY_SCALE};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// A warehouse table: its name, grain, columns and the columns its rows are sorted by.
pub struct Table {
    /// The table's name, also its Parquet file's stem.
    pub name: &'static str,
    /// What one row is.
    pub(crate) grain: &'static str,
    /// `(column, type, nullable, comment)`.
    pub columns: &'static [(&'static str, Ty, bool, &'static str)],
    /// The sort order of the rows in the file (empty: key order).
    pub(crate) sorted_by: &'static [&'static str],
    /// The columns that identify a row (the DDL's primary key, which foreign keys point at).
    pub key: &'static [&'static str],
    /// `(column, referenced table)` foreign keys, for the DDL and the diagram.
    pub(crate) references: &'static [(&'static str, &'static str)],
    /// How its rows are split into files.
    pub layout: Layout,
}

/// How a table's rows are stored in a version: one file, or a folder of parts that an append
/// rewrites only where it changes something (the rest is hard-linked from the previous version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `<table>.parquet`: small tables, rewritten by every import.
    Single,
    /// `<table>/YYYY-MM.parquet`: one file per month of `date_key`, each sorted by `sorted_by`.
    Monthly,
    /// `<table>/keys-NNNNNN.parquet`: part n holds the surrogate keys `n * chunk + 1` to
    /// `(n + 1) * chunk`, in key order (`chunk` is the manifest's `key_chunk`).
    KeyChunks,
}

/// Surrogate keys per part of a [`Layout::KeyChunks`] table, unless an import is told otherwise
/// (the manifest records what a version used): small enough that an append which
/// renames a few customers rewrites little, large enough that a big shop has few files.
pub(crate) const KEY_CHUNK: i32 = 1 << 18;

/// The column types the warehouse uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// 32-bit integer (surrogate keys, counts, date keys `YYYYMMDD`).
    Int,
    /// Text.
    Text,
    /// Calendar day.
    Date,
    /// Shop-local timestamp, milliseconds.
    Timestamp,
    /// Exact money, `DECIMAL(18,4)`.
    Money,
    /// Boolean.
    Bool,
}

impl Ty {
    fn arrow(self) -> DataType {
        match self {
            Ty::Int => DataType::Int32,
            Ty::Text => DataType::Utf8,
            Ty::Date => DataType::Date32,
            Ty::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            Ty::Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE as i8),
            Ty::Bool => DataType::Boolean,
        }
    }
}

/// Calendar days from the first to the last order day.
pub(crate) const DIM_DATE: Table = Table {
    name: "dim_date",
    grain: "one calendar day, every day from the first to the last order day",
    columns: &[
        ("date_key", Ty::Int, false, "YYYYMMDD as an integer"),
        ("date", Ty::Date, false, "the day"),
        ("year", Ty::Int, false, "calendar year"),
        ("quarter", Ty::Int, false, "1 to 4"),
        ("month_of_year", Ty::Int, false, "1 to 12"),
        ("year_month", Ty::Text, false, "YYYY-MM"),
        ("month_start", Ty::Date, false, "first day of the month"),
        ("day_of_week", Ty::Int, false, "ISO: 1 = Monday ... 7 = Sunday"),
        ("day_name", Ty::Text, false, "Monday ... Sunday"),
        ("is_weekend", Ty::Bool, false, "Saturday or Sunday"),
    ],
    sorted_by: &["date_key"],
    key: &["date_key"],
    references: &[],
    layout: Layout::Single,
};

/// Customers, including those known only from an order.
pub(crate) const DIM_CUSTOMER: Table = Table {
    name: "dim_customer",
    grain: "one customer_id",
    columns: &[
        ("customer_key", Ty::Int, false, "surrogate key"),
        ("customer_id", Ty::Text, false, "the shop's id"),
        ("customer_name", Ty::Text, true, ""),
        ("city", Ty::Text, true, ""),
        ("region", Ty::Text, true, ""),
        ("country", Ty::Text, true, ""),
        ("signup_date", Ty::Date, true, ""),
        ("listed", Ty::Bool, false, "false when only an order names it (a guest)"),
    ],
    sorted_by: &["customer_key"],
    key: &["customer_key"],
    references: &[],
    layout: Layout::KeyChunks,
};

/// Products, including those known only from an order line.
pub(crate) const DIM_PRODUCT: Table = Table {
    name: "dim_product",
    grain: "one product_id",
    columns: &[
        ("product_key", Ty::Int, false, "surrogate key"),
        ("product_id", Ty::Text, false, "the shop's id"),
        ("product_name", Ty::Text, true, ""),
        ("category", Ty::Text, false, "'Uncategorized' when the export has none"),
        ("unit_cost", Ty::Money, true, ""),
        ("list_price", Ty::Money, true, ""),
        ("listed", Ty::Bool, false, "false when only an order line names it (a retired product)"),
        ("variant_of", Ty::Text, true, "the product it is a variant of; none: a product of its own"),
    ],
    sorted_by: &["product_key"],
    key: &["product_key"],
    references: &[],
    layout: Layout::Single,
};

/// Payment methods, lower-cased.
pub(crate) const DIM_PAYMENT_METHOD: Table = Table {
    name: "dim_payment_method",
    grain: "one payment method",
    columns: &[("method_key", Ty::Int, false, "surrogate key"), ("method", Ty::Text, false, "lower-cased, trimmed")],
    sorted_by: &["method_key"],
    key: &["method_key"],
    references: &[],
    layout: Layout::Single,
};

/// Sales channels, as the export names them (`unspecified` for an order with none).
pub(crate) const DIM_CHANNEL: Table = Table {
    name: "dim_channel",
    grain: "one sales channel",
    columns: &[
        ("channel_key", Ty::Int, false, "surrogate key"),
        ("channel", Ty::Text, false, "as the export names it; 'unspecified' when it names none"),
    ],
    sorted_by: &["channel_key"],
    key: &["channel_key"],
    references: &[],
    layout: Layout::Single,
};

/// Whether an order is a sale (kpis.md, "Terms").
const IS_SALE: (&str, Ty, bool, &str) =
    ("is_sale", Ty::Bool, false, "a sale: processing, shipped, delivered, or returned with at least one refund");
/// The order's sales channel.
const CHANNEL_KEY: (&str, Ty, bool, &str) = ("channel_key", Ty::Int, false, "the order's sales channel");
/// The order's discount codes.
const DISCOUNT_CODES: (&str, Ty, bool, &str) =
    ("discount_codes", Ty::Text, true, "the codes the order used, joined by ','; none without one");

/// Orders: the per-order aggregate the facts share.
pub(crate) const FACT_ORDER: Table = Table {
    name: "fact_order",
    grain: "one order",
    columns: &[
        ("date_key", Ty::Int, false, "order day in the shop's time zone"),
        ("order_key", Ty::Int, false, "surrogate key"),
        ("customer_key", Ty::Int, false, ""),
        ("order_id", Ty::Text, false, "the shop's id"),
        ("order_ts", Ty::Timestamp, false, "shop-local time"),
        ("status", Ty::Text, false, "pending, processing, shipped, delivered, cancelled, returned"),
        ("line_count", Ty::Int, false, "loaded order lines"),
        ("order_revenue", Ty::Money, false, "sum of its line revenue"),
        IS_SALE,
        CHANNEL_KEY,
        DISCOUNT_CODES,
        ("gross_sales", Ty::Money, false, "sum of quantity * unit_price over its lines, the tax inside taken out"),
        ("discounts", Ty::Money, false, "its lines' discounts plus the order discount (gross_sales - order_revenue)"),
        ("order_discount", Ty::Money, false, "the discount on the whole order, as exported"),
        ("shipping", Ty::Money, false, "shipping charged (the tax inside taken out when prices include tax)"),
        ("tax", Ty::Money, false, "the order's tax, on goods and shipping"),
        ("duties", Ty::Money, false, ""),
    ],
    sorted_by: &["date_key", "order_key"],
    key: &["order_key"],
    references: &[("date_key", "dim_date"), ("customer_key", "dim_customer"), ("channel_key", "dim_channel")],
    layout: Layout::Monthly,
};

/// Order lines: the main fact.
pub(crate) const FACT_ORDER_LINE: Table = Table {
    name: "fact_order_line",
    grain: "one order line",
    columns: &[
        ("date_key", Ty::Int, false, "order day in the shop's time zone"),
        ("order_key", Ty::Int, false, ""),
        ("line_no", Ty::Int, false, ""),
        ("customer_key", Ty::Int, false, ""),
        ("product_key", Ty::Int, false, ""),
        ("order_id", Ty::Text, false, "the shop's id"),
        ("status", Ty::Text, false, "the order's status"),
        ("quantity", Ty::Int, false, ">= 1"),
        ("unit_price", Ty::Money, false, ""),
        ("discount", Ty::Money, false, ""),
        ("line_revenue", Ty::Money, false, "quantity * unit_price - discount - order_discount - tax"),
        IS_SALE,
        CHANNEL_KEY,
        DISCOUNT_CODES,
        ("order_discount", Ty::Money, false, "its share of the order's order_discount (largest remainder)"),
        ("tax", Ty::Money, false, "the tax inside its price when prices include tax (its share), else 0"),
    ],
    sorted_by: &["date_key", "order_key", "line_no"],
    key: &["order_key", "line_no"],
    references: &[
        ("date_key", "dim_date"),
        ("order_key", "fact_order"),
        ("customer_key", "dim_customer"),
        ("product_key", "dim_product"),
    ],
    layout: Layout::Monthly,
};

/// Payments.
pub(crate) const FACT_PAYMENT: Table = Table {
    name: "fact_payment",
    grain: "one payment",
    columns: &[
        ("date_key", Ty::Int, false, "the order's day"),
        ("order_key", Ty::Int, false, ""),
        ("payment_seq", Ty::Int, false, ""),
        ("customer_key", Ty::Int, false, ""),
        ("method_key", Ty::Int, false, ""),
        ("order_id", Ty::Text, false, "the shop's id"),
        ("installments", Ty::Int, false, ">= 1"),
        ("amount", Ty::Money, false, ""),
    ],
    sorted_by: &["date_key", "order_key", "payment_seq"],
    key: &["order_key", "payment_seq"],
    references: &[
        ("date_key", "dim_date"),
        ("order_key", "fact_order"),
        ("customer_key", "dim_customer"),
        ("method_key", "dim_payment_method"),
    ],
    layout: Layout::Monthly,
};

/// Refunds, as refunds.csv lists them: money given back on a day.
pub(crate) const FACT_REFUND: Table = Table {
    name: "fact_refund",
    grain: "one refund row: goods of a line or of the order, shipping and tax given back on a day",
    columns: &[
        ("date_key", Ty::Int, false, "the refund's day in the shop's time zone"),
        ("order_key", Ty::Int, false, ""),
        ("refund_id", Ty::Text, false, "the shop's id"),
        ("line_no", Ty::Int, true, "the line it returns; none for a refund tied to no line"),
        ("order_date_key", Ty::Int, false, "the order's day"),
        ("customer_key", Ty::Int, false, ""),
        ("refunded_at", Ty::Timestamp, false, "shop-local time"),
        ("quantity", Ty::Int, false, "units returned (0 without a line)"),
        ("amount", Ty::Money, false, "goods refunded, without shipping and tax"),
        ("shipping", Ty::Money, false, "shipping refunded"),
        ("tax", Ty::Money, false, "tax refunded"),
    ],
    sorted_by: &["date_key", "order_key", "refund_id", "line_no"],
    key: &["refund_id", "line_no"],
    references: &[("date_key", "dim_date"), ("customer_key", "dim_customer")],
    layout: Layout::Single,
};

/// Returns: each refund's goods on the order lines they belong to.
pub(crate) const FACT_RETURN_LINE: Table = Table {
    name: "fact_return_line",
    grain: "the goods of one refund on one order line: all of a line's refund, or a share of an unsplit one",
    columns: &[
        ("date_key", Ty::Int, false, "the refund's day in the shop's time zone"),
        ("order_key", Ty::Int, false, ""),
        ("line_no", Ty::Int, false, ""),
        ("refund_id", Ty::Text, false, "the shop's id"),
        ("order_date_key", Ty::Int, false, "the order's day"),
        ("customer_key", Ty::Int, false, ""),
        ("product_key", Ty::Int, false, ""),
        ("quantity", Ty::Int, false, "units returned (0 for a share of a refund tied to no line)"),
        ("amount", Ty::Money, false, "goods returned; an unsplit refund shared over the lines by line revenue"),
    ],
    sorted_by: &["date_key", "order_key", "line_no", "refund_id"],
    key: &["refund_id", "order_key", "line_no"],
    references: &[("date_key", "dim_date"), ("customer_key", "dim_customer"), ("product_key", "dim_product")],
    layout: Layout::Single,
};

/// The payment methods an order used, as its derived rows carry them (`derived.rs`).
const METHOD_KEYS: (&str, Ty, bool, &str) =
    ("method_keys", Ty::Text, false, "derived: the order's payment method keys between bars, '|1|3|' ('|' for none)");
/// The method that paid most of an order, as its derived rows carry it.
const MAIN_METHOD_KEY: (&str, Ty, bool, &str) = (
    "main_method_key",
    Ty::Int,
    true,
    "derived: the method that paid most of the order (ties: by name); none without payments",
);

pub(crate) const AGG_ORDER: Table = Table {
    name: "agg_order",
    grain: "derived: one order of fact_order, with the payment methods it used",
    columns: &[
        ("date_key", Ty::Int, false, "order day in the shop's time zone"),
        ("order_key", Ty::Int, false, ""),
        ("customer_key", Ty::Int, false, ""),
        ("status", Ty::Text, false, "the order's status"),
        ("line_count", Ty::Int, false, "loaded order lines"),
        ("order_revenue", Ty::Money, false, "sum of its line revenue"),
        METHOD_KEYS,
        MAIN_METHOD_KEY,
        IS_SALE,
        CHANNEL_KEY,
        DISCOUNT_CODES,
        ("gross_sales", Ty::Money, false, ""),
        ("discounts", Ty::Money, false, ""),
        ("shipping", Ty::Money, false, ""),
        ("tax", Ty::Money, false, ""),
        ("duties", Ty::Money, false, ""),
    ],
    sorted_by: &["date_key", "order_key"],
    key: &["order_key"],
    references: &[("date_key", "dim_date"), ("customer_key", "dim_customer")],
    layout: Layout::Monthly,
};

pub(crate) const AGG_LINE: Table = Table {
    name: "agg_line",
    grain: "derived: one order line of fact_order_line, with its order's payment methods and a mark per category",
    columns: &[
        ("date_key", Ty::Int, false, "order day in the shop's time zone"),
        ("order_key", Ty::Int, false, ""),
        ("line_no", Ty::Int, false, ""),
        ("customer_key", Ty::Int, false, ""),
        ("product_key", Ty::Int, false, ""),
        ("status", Ty::Text, false, "the order's status"),
        ("quantity", Ty::Int, false, ">= 1"),
        ("unit_price", Ty::Money, false, ""),
        ("discount", Ty::Money, false, ""),
        ("line_revenue", Ty::Money, false, "quantity * unit_price - discount - order_discount - tax"),
        METHOD_KEYS,
        MAIN_METHOD_KEY,
        IS_SALE,
        CHANNEL_KEY,
        DISCOUNT_CODES,
        ("gross_sales", Ty::Money, false, "quantity * unit_price - tax"),
        ("discounts", Ty::Money, false, "discount + order_discount"),
        (
            "first_in_category",
            Ty::Int,
            false,
            "derived: 1 for the first line of its order in its product's category, else 0",
        ),
    ],
    sorted_by: &["date_key", "order_key", "line_no"],
    key: &["order_key", "line_no"],
    references: &[("date_key", "dim_date"), ("customer_key", "dim_customer"), ("product_key", "dim_product")],
    layout: Layout::Monthly,
};

pub(crate) const AGG_PAYMENT: Table = Table {
    name: "agg_payment",
    grain: "derived: one payment of fact_payment, with its order's status, lines and payment methods and a mark per method",
    columns: &[
        ("date_key", Ty::Int, false, "the order's day"),
        ("order_key", Ty::Int, false, ""),
        ("payment_seq", Ty::Int, false, ""),
        ("customer_key", Ty::Int, false, ""),
        ("method_key", Ty::Int, false, ""),
        ("installments", Ty::Int, false, ">= 1"),
        ("amount", Ty::Money, false, ""),
        ("status", Ty::Text, false, "the order's status"),
        ("line_count", Ty::Int, false, "the order's loaded lines"),
        METHOD_KEYS,
        IS_SALE,
        CHANNEL_KEY,
        ("first_of_method", Ty::Int, false, "derived: 1 for the first payment of its order by its method, else 0"),
    ],
    sorted_by: &["date_key", "order_key", "payment_seq"],
    key: &["order_key", "payment_seq"],
    references: &[("date_key", "dim_date"), ("customer_key", "dim_customer"), ("method_key", "dim_payment_method")],
    layout: Layout::Monthly,
};

/// Returns and refunded shipping and tax with what a filter asks of their order.
pub(crate) const AGG_RETURN: Table = Table {
    name: "agg_return",
    grain: "derived: a refund's goods on one order line (fact_return_line), or its shipping and tax (line_no none), with its order's filter columns",
    columns: &[
        ("date_key", Ty::Int, false, "the refund's day"),
        ("order_key", Ty::Int, false, ""),
        ("line_no", Ty::Int, true, "none for a refund's shipping and tax"),
        ("order_date_key", Ty::Int, false, "the order's day"),
        ("customer_key", Ty::Int, false, ""),
        ("product_key", Ty::Int, true, "none for a refund's shipping and tax"),
        ("quantity", Ty::Int, false, "units returned"),
        ("amount", Ty::Money, false, "goods returned"),
        ("shipping", Ty::Money, false, "shipping refunded"),
        ("tax", Ty::Money, false, "tax refunded"),
        METHOD_KEYS,
        MAIN_METHOD_KEY,
        CHANNEL_KEY,
        DISCOUNT_CODES,
    ],
    sorted_by: &["date_key", "order_key"],
    // no key: a refund may return a line in several rows, and its shipping and tax rows have none
    key: &[],
    references: &[("date_key", "dim_date"), ("customer_key", "dim_customer"), ("product_key", "dim_product")],
    layout: Layout::Single,
};

/// The derived tables: what a request's filter asks of an order, kept beside the facts by the
/// import and the append (`warehouse::derived`), so that no filter joins a fact to a fact.
pub(crate) const DERIVED: [&Table; 3] = [&AGG_ORDER, &AGG_LINE, &AGG_PAYMENT];

/// The names of the warehouse's tables: the star schema's and the derived ones.
pub fn table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|t| t.name)
}

/// Every table of a version: the star schema, then the derived tables.
pub const TABLES: [&Table; 14] = [
    &DIM_DATE,
    &DIM_CUSTOMER,
    &DIM_PRODUCT,
    &DIM_PAYMENT_METHOD,
    &DIM_CHANNEL,
    &FACT_ORDER,
    &FACT_ORDER_LINE,
    &FACT_PAYMENT,
    &FACT_REFUND,
    &FACT_RETURN_LINE,
    &AGG_ORDER,
    &AGG_LINE,
    &AGG_PAYMENT,
    &AGG_RETURN,
];

impl Table {
    /// The table's Arrow schema.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns.iter().map(|(n, t, null, _)| Field::new(*n, t.arrow(), *null)).collect::<Vec<_>>(),
        ))
    }

    /// Where the table lives inside a version folder: its file ([`Layout::Single`]) or the
    /// folder of its parts.
    pub fn path(&self, version_dir: &std::path::Path) -> std::path::PathBuf {
        match self.layout {
            Layout::Single => version_dir.join(format!("{}.parquet", self.name)),
            Layout::Monthly | Layout::KeyChunks => version_dir.join(self.name),
        }
    }

    /// `CREATE TABLE` for this table in `dialect`, with its key, foreign keys and comments.
    pub fn ddl(&self, dialect: Dialect) -> String {
        let mut out = format!("-- {}: {}\nCREATE TABLE {} (\n", self.name, self.grain, self.name);
        let mut lines: Vec<String> = self
            .columns
            .iter()
            .map(|(n, t, null, comment)| {
                let mut l = format!("  {n} {}{}", dialect.sql(*t), if *null { "" } else { " NOT NULL" });
                if let Some((_, target)) = self.references.iter().find(|(c, _)| c == n) {
                    l.push_str(&format!(" REFERENCES {target}"));
                }
                if !comment.is_empty() {
                    l.push_str(&format!(" -- {comment}"));
                }
                l
            })
            .collect();
        // a key with a column that may be none (a refund tied to no line) is unique, not primary
        let nullable = self.key.iter().any(|k| self.columns.iter().any(|(n, _, null, _)| n == k && *null));
        match (self.key.is_empty(), nullable) {
            (true, _) => {}
            (false, false) => lines.push(format!("  PRIMARY KEY ({})", self.key.join(", "))),
            (false, true) => lines.push(format!("  UNIQUE ({})", self.key.join(", "))),
        }
        // a comment can't end a line that a comma must follow, so put the comma before it
        let with_commas: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i + 1 == lines.len() {
                    return l.clone();
                }
                match l.find(" -- ") {
                    Some(at) => format!("{},{}", &l[..at], &l[at..]),
                    None => format!("{l},"),
                }
            })
            .collect();
        out.push_str(&with_commas.join("\n"));
        out.push_str(&format!("\n);\n-- rows sorted by {}\n", self.sorted_by.join(", ")));
        if dialect == Dialect::Postgres {
            // kept in the catalogue, where BI tools show them
            let text = |s: &str| s.replace('\'', "''");
            out.push_str(&format!("COMMENT ON TABLE {} IS '{}';\n", self.name, text(self.grain)));
            for (n, _, _, comment) in self.columns.iter().filter(|c| !c.3.is_empty()) {
                out.push_str(&format!("COMMENT ON COLUMN {}.{n} IS '{}';\n", self.name, text(comment)));
            }
        }
        out
    }
}

/// The SQL database a DDL is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `TEXT`, `NUMERIC`, comments in the catalogue.
    Postgres,
    /// DuckDB: `VARCHAR`, `DECIMAL`, comments in the script.
    Duckdb,
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Dialect, String> {
        match s {
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "duckdb" => Ok(Dialect::Duckdb),
            _ => Err(format!("'{s}' is not a dialect: postgres or duckdb")),
        }
    }
}

impl Dialect {
    fn sql(self, t: Ty) -> &'static str {
        match (self, t) {
            (_, Ty::Int) => "INTEGER",
            (Dialect::Postgres, Ty::Text) => "TEXT",
            (Dialect::Duckdb, Ty::Text) => "VARCHAR",
            (_, Ty::Date) => "DATE",
            (_, Ty::Timestamp) => "TIMESTAMP",
            (Dialect::Postgres, Ty::Money) => "NUMERIC(18,4)",
            (Dialect::Duckdb, Ty::Money) => "DECIMAL(18,4)",
            (_, Ty::Bool) => "BOOLEAN",
        }
    }
}

/// The whole star schema as SQL DDL in `dialect` (dimensions first, so every foreign key's
/// table exists), plus the convenience view.
pub fn ddl(dialect: Dialect) -> String {
    let mut out = String::new();
    for t in TABLES {
        out.push_str(&t.ddl(dialect));
        out.push('\n');
    }
    out.push_str("-- order_lines: each order line joined to its dimensions, for ad-hoc SQL\n");
    out.push_str(ORDER_LINES_VIEW);
    out
}

/// The convenience view `order_lines`, registered by every session on a warehouse.
pub(crate) const ORDER_LINES_VIEW: &str =
    super::sql_text::sql_text!(include_str!("sql/order_lines.sql"), &[super::sql_text::REVENUE_STATUSES_PART]);
