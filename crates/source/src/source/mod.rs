//! The canonical source format (`shared/spec/source-format.md`): its five files and `refunds.csv`, their columns,
//! and how one row becomes a typed record. Cross-file rules (duplicates, unknown orders) belong to
//! `import`, which sees all files.

pub mod flat;
pub mod olist;
pub mod reader;
pub mod records;

pub use reader::{RawRows, Row, TableReader};

/// The character encoding of an export's files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, the canonical format's (a byte-order mark is allowed).
    #[default]
    Utf8,
    /// ISO-8859-1, transcoded to UTF-8 while reading.
    Latin1,
}

impl std::str::FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Encoding, String> {
        match s.to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "latin1" | "latin-1" | "iso-8859-1" => Ok(Encoding::Latin1),
            _ => Err(format!("'{s}' is not an encoding shoplens reads (utf-8, latin1)")),
        }
    }
}

/// One of the five files of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceFile {
    /// `customers.csv`
    Customers,
    /// `products.csv`
    Products,
    /// `orders.csv`
    Orders,
    /// `order_items.csv`
    OrderItems,
    /// `payments.csv`
    Payments,
    /// `refunds.csv`, the one optional file: dated refunds, of a line or of an order.
    Refunds,
}

/// A canonical column of a source file.
#[derive(Clone, Copy, Debug)]
pub struct ColumnSpec {
    /// Its lower-case header name.
    pub name: &'static str,
    /// Whether the header must have it.
    pub required: bool,
}

const fn req(name: &'static str) -> ColumnSpec {
    ColumnSpec { name, required: true }
}
const fn opt(name: &'static str) -> ColumnSpec {
    ColumnSpec { name, required: false }
}

impl SourceFile {
    /// The files in the order an import reads them (referenced files first).
    pub const ALL: [SourceFile; 5] =
        [SourceFile::Customers, SourceFile::Products, SourceFile::Orders, SourceFile::OrderItems, SourceFile::Payments];

    /// The files an export may add: read when present, and an export without them has no
    /// refunds.
    pub const OPTIONAL: [SourceFile; 1] = [SourceFile::Refunds];

    /// The file's name in an export folder.
    pub fn file_name(self) -> &'static str {
        match self {
            SourceFile::Customers => "customers.csv",
            SourceFile::Products => "products.csv",
            SourceFile::Orders => "orders.csv",
            SourceFile::OrderItems => "order_items.csv",
            SourceFile::Payments => "payments.csv",
            SourceFile::Refunds => "refunds.csv",
        }
    }

    /// The names of the file's canonical columns, in the format's order: the header a writer of
    /// the format (the generator, a conversion) writes.
    pub fn header(self) -> Vec<&'static str> {
        self.columns().iter().map(|c| c.name).collect()
    }

    /// The canonical columns of the file.
    pub fn columns(self) -> &'static [ColumnSpec] {
        const CUSTOMERS: &[ColumnSpec] =
            &[req("customer_id"), opt("customer_name"), opt("city"), opt("region"), opt("country"), opt("signup_date")];
        const PRODUCTS: &[ColumnSpec] = &[
            req("product_id"),
            opt("product_name"),
            opt("category"),
            opt("variant_of"),
            opt("unit_cost"),
            opt("list_price"),
        ];
        const ORDERS: &[ColumnSpec] = &[
            req("order_id"),
            req("customer_id"),
            req("order_ts"),
            req("status"),
            opt("shipping"),
            opt("tax"),
            opt("duties"),
            opt("order_discount"),
            opt("discount_code"),
            opt("channel"),
        ];
        const ORDER_ITEMS: &[ColumnSpec] =
            &[req("order_id"), req("line_no"), req("product_id"), req("quantity"), req("unit_price"), opt("discount")];
        const PAYMENTS: &[ColumnSpec] =
            &[req("order_id"), req("payment_seq"), req("method"), opt("installments"), req("amount")];
        const REFUNDS: &[ColumnSpec] = &[
            req("refund_id"),
            req("order_id"),
            req("refunded_at"),
            opt("line_no"),
            opt("quantity"),
            req("amount"),
            opt("shipping"),
            opt("tax"),
        ];
        match self {
            SourceFile::Customers => CUSTOMERS,
            SourceFile::Products => PRODUCTS,
            SourceFile::Orders => ORDERS,
            SourceFile::OrderItems => ORDER_ITEMS,
            SourceFile::Payments => PAYMENTS,
            SourceFile::Refunds => REFUNDS,
        }
    }
}

/// A problem with a whole source file: the import stops and the warehouse is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Missing, unreadable, or broken mid-way.
    #[error("{file}: cannot be read: {message}")]
    Unreadable {
        /// The file's name.
        file: &'static str,
        /// The underlying error.
        message: String,
    },
    /// Empty file.
    #[error("{file}: has no header row")]
    NoHeader {
        /// The file's name.
        file: &'static str,
    },
    /// Bytes that are not UTF-8 (the file is probably Latin-1 / Windows-1252).
    #[error(
        "{file}: line {line} is not UTF-8; if the file is Latin-1 (Windows-1252), import it with --encoding latin1"
    )]
    NotUtf8 {
        /// The file's name.
        file: &'static str,
        /// 1-based line of the first row that is not UTF-8.
        line: u64,
    },
    /// A header with more columns than any export has.
    #[error("{file}: the header has {columns} columns, more than the {} allowed", reader::MAX_COLUMNS)]
    TooWide {
        /// The file's name.
        file: &'static str,
        /// How many.
        columns: usize,
    },
    /// The header lacks a required column.
    #[error("{file}: the header has no column '{column}', which is required")]
    MissingColumn {
        /// The file's name.
        file: &'static str,
        /// The required column.
        column: &'static str,
    },
}
