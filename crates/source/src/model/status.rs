//! An order's status, and which statuses count as revenue.

use std::fmt;
use std::str::FromStr;

/// The status of an order, as in the source format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Placed, not yet paid or processed.
    Pending,
    /// Paid and being prepared.
    Processing,
    /// Handed to the carrier.
    Shipped,
    /// Received by the customer.
    Delivered,
    /// Cancelled before fulfilment.
    Cancelled,
    /// Sent back after delivery.
    Returned,
}

impl Status {
    /// Every status, in the order of the source format.
    pub const ALL: [Status; 6] =
        [Status::Pending, Status::Processing, Status::Shipped, Status::Delivered, Status::Cancelled, Status::Returned];

    /// The revenue statuses (kpis.md): the one list. [`Status::is_revenue`] reads it, and so does
    /// every SQL query of shoplens, whose `{revenue_statuses}` is replaced (at compile time) by
    /// these names quoted: `'processing', 'shipped', 'delivered'`.
    pub const REVENUE: [Status; 3] = [Status::Processing, Status::Shipped, Status::Delivered];

    /// The canonical lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Processing => "processing",
            Status::Shipped => "shipped",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
            Status::Returned => "returned",
        }
    }

    /// Whether an order with this status is a revenue order (kpis.md).
    pub fn is_revenue(self) -> bool {
        Status::REVENUE.contains(&self)
    }
}

impl FromStr for Status {
    type Err = String;
    /// Case-insensitive and trimmed; `canceled` is read as `cancelled`.
    fn from_str(s: &str) -> Result<Status, String> {
        let lower = s.trim().to_ascii_lowercase();
        if lower == "canceled" {
            return Ok(Status::Cancelled);
        }
        Status::ALL.into_iter().find(|st| st.as_str() == lower).ok_or_else(|| {
            format!("'{}' is not a status (pending, processing, shipped, delivered, cancelled, returned)", s.trim())
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_statuses_loosely_and_refuses_others() {
        assert_eq!(" Delivered ".parse::<Status>(), Ok(Status::Delivered));
        assert_eq!("CANCELED".parse::<Status>(), Ok(Status::Cancelled));
        assert_eq!("cancelled".parse::<Status>(), Ok(Status::Cancelled));
        assert!("refunded".parse::<Status>().is_err());
        assert!("".parse::<Status>().is_err());
        let revenue: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_revenue()).collect();
        assert_eq!(revenue, [Status::Processing, Status::Shipped, Status::Delivered]);
    }
}
