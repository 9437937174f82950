//! JUnit XML: one test suite per API, one test case per operation × check, a `failure` element
//! carrying every distinct violation with its curl lines. The layout CI viewers (Jenkins,
//! GitLab, GitHub test reporters) read.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::Report;

/// The report as JUnit XML.
pub fn render(report: &Report) -> Result<String, std::io::Error> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut apis: Vec<&str> = report.operations.iter().map(|o| o.api.as_str()).collect();
    apis.dedup();
    fn cases<'r>(report: &'r Report, api: &'r str) -> impl Iterator<Item = &'r super::OperationOutcome> {
        report.operations.iter().filter(move |o| o.api == api)
    }
    let count = |api: &str| -> (usize, usize, usize) {
        let tests = cases(report, api).map(|o| o.checks.len().max(usize::from(o.skipped.is_some()))).sum();
        let failures = cases(report, api).map(|o| o.checks.values().filter(|(_, failed)| *failed > 0).count()).sum();
        let skipped = cases(report, api).filter(|o| o.skipped.is_some()).count();
        (tests, failures, skipped)
    };
    let totals = apis.iter().map(|a| count(a)).fold((0, 0), |(t, f), (tests, failures, _)| (t + tests, f + failures));
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "sandgate contract"));
    root.push_attribute(("tests", totals.0.to_string().as_str()));
    root.push_attribute(("failures", totals.1.to_string().as_str()));
    root.push_attribute(("errors", "0"));
    root.push_attribute(("time", format!("{:.3}", report.seconds).as_str()));
    writer.write_event(Event::Start(root))?;
    for api in apis {
        let (tests, failures, skipped) = count(api);
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", api));
        suite.push_attribute(("tests", tests.to_string().as_str()));
        suite.push_attribute(("failures", failures.to_string().as_str()));
        suite.push_attribute(("errors", "0"));
        suite.push_attribute(("skipped", skipped.to_string().as_str()));
        let seconds: f64 = cases(report, api).map(|o| o.seconds).sum();
        suite.push_attribute(("time", format!("{seconds:.3}").as_str()));
        writer.write_event(Event::Start(suite))?;
        for outcome in cases(report, api) {
            let classname = format!("{}.{}", api, outcome.operation);
            if let Some(why) = &outcome.skipped {
                let mut case = BytesStart::new("testcase");
                case.push_attribute(("name", outcome.operation.as_str()));
                case.push_attribute(("classname", classname.as_str()));
                case.push_attribute(("time", "0"));
                writer.write_event(Event::Start(case))?;
                let mut skipped = BytesStart::new("skipped");
                skipped.push_attribute(("message", why.as_str()));
                writer.write_event(Event::Empty(skipped))?;
                writer.write_event(Event::End(BytesEnd::new("testcase")))?;
                continue;
            }
            let share = outcome.seconds / outcome.checks.len().max(1) as f64;
            for (check, (_, failed)) in &outcome.checks {
                let mut case = BytesStart::new("testcase");
                let name = format!("{} {}", outcome.operation, check.as_str());
                case.push_attribute(("name", name.as_str()));
                case.push_attribute(("classname", classname.as_str()));
                case.push_attribute(("time", format!("{share:.3}").as_str()));
                if *failed == 0 {
                    writer.write_event(Event::Empty(case))?;
                    continue;
                }
                writer.write_event(Event::Start(case))?;
                let found: Vec<_> = report
                    .findings
                    .iter()
                    .filter(|f| f.check == *check && f.operation == outcome.operation && f.api == outcome.api)
                    .collect();
                let message = found.first().map_or_else(|| check.as_str().to_owned(), |f| f.title.clone());
                let mut text = String::new();
                for finding in &found {
                    text.push_str(&format!("{}\n{}\n", finding.title, finding.detail));
                    for line in &finding.curl {
                        text.push_str(&format!("  {line}\n"));
                    }
                    text.push('\n');
                }
                let mut failure = BytesStart::new("failure");
                failure.push_attribute(("message", message.as_str()));
                failure.push_attribute(("type", check.as_str()));
                writer.write_event(Event::Start(failure))?;
                writer.write_event(Event::Text(BytesText::new(&text)))?;
                writer.write_event(Event::End(BytesEnd::new("failure")))?;
                writer.write_event(Event::End(BytesEnd::new("testcase")))?;
            }
        }
        writer.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    writer.write_event(Event::End(BytesEnd::new("testsuites")))?;
    String::from_utf8(writer.into_inner()).map_err(std::io::Error::other)
}
