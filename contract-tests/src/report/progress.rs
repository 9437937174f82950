//! Progress while running: a bar on a terminal, plain lines when not a terminal or when CI=true
//! (a log keeps them readable).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use crate::run::CaseRun;

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
        let failed = run.results.iter().flat_map(|r| &r.failures).next();
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if let Some(failure) = failed {
                    bar.println(format!(
                        "FAILED {} — {} [{}]",
                        run.case.steps.last().map_or("", |s| &s.operation),
                        failure.title,
                        failure.check.as_str()
                    ));
                }
            }
            None => {
                if let Some(failure) = failed {
                    let operation = run.case.steps.last().map_or("", |s| s.operation.as_str());
                    eprintln!(
                        "[{done}/{}] FAILED {operation} — {} [{}]",
                        self.total,
                        failure.title,
                        failure.check.as_str()
                    );
                } else if done == self.total || done % (self.total / 10).max(1) == 0 {
                    eprintln!("[{done}/{}] cases run", self.total);
                }
            }
        }
    }

    /// The run ended.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
