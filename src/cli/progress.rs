//! The import's progress as an indicatif bar on a terminal; nothing when stderr is not one.

use crate::import::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar over the bytes of each source file.
#[derive(Clone)]
pub(super) struct Bar(ProgressBar);

impl Bar {
    /// A bar on stderr, hidden unless stderr is a terminal.
    pub(super) fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg:>16} [{bar:30}] {bytes}/{total_bytes} eta {eta}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        Bar(bar)
    }

    /// Clears the bar.
    pub(super) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bar {
    fn start_file(&self, file: &str, bytes: u64) {
        self.0.set_message(file.to_string());
        self.0.set_length(bytes);
        self.0.set_position(0);
    }

    fn advance(&self, bytes: u64) {
        self.0.set_position(bytes);
    }

    fn phase(&self, name: &str) {
        self.0.set_message(name.to_string());
    }
}
