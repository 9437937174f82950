//! Progress while running: a bar on a terminal, plain lines when not a terminal or when CI=true
//! (a log keeps them readable).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use crate::outcome::CaseRun;

/// Reports finished cases.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    /// Progress over `total` cases.
    pub fn new(total: usize) -> Progress {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let bar = (!ci && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed}] {bar:40} {pos}/{len} cases {msg}") {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, total, done: AtomicUsize::new(0) }
    }

    /// One case finished.
    pub fn case_done(&self, run: &CaseRun) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        // The first failure of the case, named by the step that failed (a setup step may).
        let failed = run.exchanges.iter().zip(&run.results).find_map(|(exchange, result)| {
            result
                .failures
                .first()
                .map(|f| format!("FAILED {} — {} [{}]", exchange.operation, f.title, f.check.as_str()))
        });
        match (&self.bar, failed) {
            (Some(bar), failed) => {
                bar.inc(1);
                if let Some(line) = failed {
                    bar.println(line);
                }
            }
            (None, Some(line)) => eprintln!("[{done}/{}] {line}", self.total),
            (None, None) if done == self.total || done.is_multiple_of((self.total / 10).max(1)) => {
                eprintln!("[{done}/{}] cases run", self.total);
            }
            (None, None) => {}
        }
    }

    /// The run ended.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
