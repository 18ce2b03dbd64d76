//! The one error an analysis can end with, and its HTTP status, mapped here and nowhere else (the
//! CLI exits 1 on any error, as on every other failure).

use crate::metrics::MetricsError;

/// Why an analysis gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// A parameter is unknown, repeated or not acceptable: the message names it.
    #[error("{0}")]
    BadParameter(String),
    /// The thing asked for does not exist (a KPI section's name, say).
    #[error("{0}")]
    NotFound(String),
    /// The warehouse cannot answer this question: no orders, a series too short to forecast.
    #[error("{0}")]
    NoAnswer(String),
    /// The computation ran out of its time.
    #[error("the computation took too long")]
    TooLong,
    /// A query or the work around it failed: details for the log, not for a client.
    #[error(transparent)]
    Failed(MetricsError),
    /// Anything else that failed inside (a task that panicked, a value that would not serialize).
    #[error("{0}")]
    Internal(String),
}

impl From<MetricsError> for AnalysisError {
    /// A filter value the warehouse does not have is the client's mistake (400); any other
    /// query's failure is the server's.
    fn from(e: MetricsError) -> AnalysisError {
        match e.bad_filter() {
            Some(message) => AnalysisError::BadParameter(message),
            None => AnalysisError::Failed(e),
        }
    }
}

impl AnalysisError {
    /// The answer when the warehouse has no order to compute from.
    pub fn no_orders() -> AnalysisError {
        AnalysisError::NoAnswer("the warehouse has no orders".into())
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AnalysisError::BadParameter(_) => 400,
            AnalysisError::NotFound(_) => 404,
            AnalysisError::NoAnswer(_) => 422,
            AnalysisError::TooLong => 503,
            AnalysisError::Failed(_) | AnalysisError::Internal(_) => 500,
        }
    }

    /// What a client may be told: the message, except for failures inside, whose details (which
    /// may name the server's files) only the log gets.
    pub fn public_message(&self) -> String {
        match self {
            AnalysisError::Failed(_) | AnalysisError::Internal(_) => {
                if self.to_string().contains("Resources exhausted") {
                    "the computation needs more memory than the server's --memory-limit gives it".into()
                } else {
                    "the computation failed (the server's log has the details)".into()
                }
            }
            other => other.to_string(),
        }
    }
}

/// A bad parameter: `parameter 'NAME': MESSAGE`.
pub(crate) fn bad_parameter(name: &str, message: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::BadParameter(format!("parameter '{name}': {message}"))
}

#[cfg(test)]
mod tests {
    use super::AnalysisError;

    #[test]
    fn failures_inside_show_no_paths() {
        let e = AnalysisError::Internal(
            "Object at location /srv/wh/v-20250101T000000-1/fact_payment/2023-07.parquet not found".into(),
        );
        assert_eq!(e.status(), 500);
        assert!(!e.public_message().contains('/'), "{}", e.public_message());
        let e = AnalysisError::Internal("Resources exhausted: Failed to allocate additional 1.0 MB".into());
        assert!(e.public_message().contains("--memory-limit"));
        assert_eq!(AnalysisError::BadParameter("parameter 'x': no".into()).public_message(), "parameter 'x': no");
    }
}
