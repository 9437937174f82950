//! The report for people: findings first (each with what to run to see it again), then the
//! constraints the server enforces beyond its spec, then every operation's checks, then coverage
//! of the documented statuses and media types.

use std::fmt::Write;

use super::Report;

/// The whole report as text.
pub fn render(report: &Report, report_file: Option<&str>) -> String {
    let mut out = String::new();
    let against = report.against.as_ref().map(|a| format!(" and {a}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "sandgate contract: {} cases, {} requests in {:.2} s against {}{against}",
        report.cases, report.requests, report.seconds, report.base_url
    );
    let _ =
        writeln!(out, "  seed {}, specs sha256 {}", report.seed, &report.spec_hash[..report.spec_hash.len().min(16)]);
    if report.cases_not_run > 0 {
        let _ = writeln!(out, "  {} cases not run: the time budget (--max-time) ran out", report.cases_not_run);
    }
    for (why, count) in &report.cases_stopped {
        let _ = writeln!(out, "  {count} cases stopped early: {why}");
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\nFAILURES: {} distinct violations", report.findings.len());
        for (index, finding) in report.findings.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n{}. {} ({}) — {} [{}]",
                index + 1,
                finding.operation,
                finding.api,
                finding.title,
                finding.check.as_str()
            );
            let _ = writeln!(out, "   {}", finding.detail);
            let times =
                if finding.occurrences == 1 { "once".to_owned() } else { format!("{} times", finding.occurrences) };
            let _ = writeln!(out, "   seen {times}; first in case \"{}\"", finding.case.title);
            for (step, line) in finding.curl.iter().enumerate() {
                let _ = writeln!(out, "   step {}: {line}", step + 1);
            }
            if let Some(file) = report_file {
                let _ =
                    writeln!(out, "   replay: sandgate contract replay {file} --finding {} --base-url URL", index + 1);
            }
        }
    }
    if !report.stricter.is_empty() {
        let _ = writeln!(
            out,
            "\nSTRICTER THAN THE SPEC: {} constraints the server enforces and its spec does not state",
            report.stricter.len()
        );
        for stricter in &report.stricter {
            let times =
                if stricter.occurrences == 1 { String::new() } else { format!(" ({} requests)", stricter.occurrences) };
            let fields = stricter.fields.as_ref().map(|f| format!(" on {f}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}{fields}: refused {} with {}{times}",
                stricter.operation, stricter.tried, stricter.status
            );
            let _ = writeln!(out, "    server: {}", stricter.reason);
        }
    }
    let _ = writeln!(out, "\nOPERATIONS");
    let width = report.operations.iter().map(|o| o.operation.len()).max().unwrap_or(10).max(10);
    let mut api = "";
    for outcome in &report.operations {
        if outcome.api != api {
            api = &outcome.api;
            let _ = writeln!(out, "  {api}");
        }
        if let Some(why) = &outcome.skipped {
            let _ = writeln!(out, "    -      {:width$}  not tested: {why}", outcome.operation);
            continue;
        }
        let failed: Vec<String> = outcome
            .checks
            .iter()
            .filter(|(_, (_, failed))| *failed > 0)
            .map(|(check, (passed, failed))| format!("{} {failed}/{}", check.as_str(), passed + failed))
            .collect();
        let answers: usize = outcome.checks.get(&crate::checks::CheckId::NotAServerError).map_or(0, |(p, f)| p + f);
        let mark = if failed.is_empty() { "ok" } else { "FAILED" };
        let detail = if failed.is_empty() {
            format!("{} checks", outcome.checks.len())
        } else {
            format!("failed: {}", failed.join(", "))
        };
        let _ = writeln!(out, "    {mark:6} {:width$}  {answers:4} answers, {detail}", outcome.operation);
    }
    let _ = writeln!(out, "\nCOVERAGE (documented → answered)");
    let (mut documented, mut exercised) = (0, 0);
    let mut api = "";
    for outcome in report.operations.iter().filter(|o| o.skipped.is_none()) {
        if outcome.api != api {
            api = &outcome.api;
            let _ = writeln!(out, "  {api}");
        }
        let seen: Vec<String> = outcome.seen_statuses.iter().map(u16::to_string).collect();
        let covered = outcome
            .documented_statuses
            .iter()
            .filter(|d| outcome.seen_statuses.iter().any(|s| status_matches(d, *s)))
            .count();
        documented += outcome.documented_statuses.len();
        exercised += covered;
        let _ = writeln!(
            out,
            "    {:width$}  statuses {covered}/{} [{}] → [{}]  media [{}] → [{}]",
            outcome.operation,
            outcome.documented_statuses.len(),
            outcome.documented_statuses.join(", "),
            seen.join(", "),
            outcome.documented_media.join(", "),
            outcome.seen_media.join(", "),
        );
    }
    let _ = writeln!(out, "  documented statuses exercised: {exercised}/{documented}");
    let verdict = if report.passed() { "PASSED" } else { "FAILED" };
    let _ = writeln!(out, "\n{verdict}: {} distinct violations", report.findings.len());
    out
}

/// Whether a documented status key (`200`, `4XX`, `default`) covers `status`.
pub fn status_matches(documented: &str, status: u16) -> bool {
    match documented.as_bytes() {
        [class, b'X', b'X'] | [class, b'x', b'x'] => u16::from(class - b'0') == status / 100,
        _ if documented == "default" => false,
        _ => documented.parse() == Ok(status),
    }
}
