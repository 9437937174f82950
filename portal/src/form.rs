//! A form being filled: the values sent back into the page and the problems shown next to their
//! fields. Control-plane problems name fields by JSON path (`webhooks.0.url`); the page shows them
//! beside the form field that carries that path's first segment.

use sandgate_control::http::Problem;
use sandgate_core::problem::ProblemKind;

/// Values and problems of one form.
#[derive(Debug, Default, Clone)]
pub(crate) struct Form {
    values: Vec<(String, String)>,
    errors: Vec<(String, String)>,
}

impl Form {
    /// A form filled with `values`.
    pub(crate) fn with(values: impl IntoIterator<Item = (String, String)>) -> Form {
        Form { values: values.into_iter().collect(), errors: Vec::new() }
    }

    /// Adds a value.
    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.push((name.to_owned(), value.into()));
    }

    /// Records a problem with `field` (`form`: the whole form).
    pub(crate) fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push((field.to_owned(), message.into()));
    }

    /// Whether any problem was recorded.
    pub(crate) fn failed(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Shows a control-plane problem next to the field it names (`fields` are the form's field
    /// names; a path whose first segment is one of them lands there), else at the top.
    pub(crate) fn problem(&mut self, problem: &Problem, fields: &[&str]) {
        let detail = human(problem);
        let target = problem.field.as_deref().and_then(|path| {
            fields.iter().find(|f| path == **f).or_else(|| {
                let first = path.split('.').next().unwrap_or(path);
                fields.iter().find(|f| **f == first)
            })
        });
        self.fail(target.copied().unwrap_or("form"), detail);
    }

    /// The value of `name` (`""` when none).
    pub(crate) fn val(&self, name: impl AsRef<str>) -> &str {
        let name = name.as_ref();
        self.values.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// The problem with `name` (`""` when none).
    pub(crate) fn err(&self, name: impl AsRef<str>) -> &str {
        let name = name.as_ref();
        self.errors.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Whether the repeated field `name` holds `value` (checkboxes).
    pub(crate) fn checked(&self, name: impl AsRef<str>, value: impl AsRef<str>) -> bool {
        let (name, value) = (name.as_ref(), value.as_ref());
        self.values.iter().any(|(k, v)| k == name && v == value)
    }
}

/// A problem as a person reads it: the detail, without internals (the control plane's details
/// never carry them; a failure of the store says only that it failed).
pub(crate) fn human(problem: &Problem) -> String {
    match problem.kind {
        ProblemKind::Internal => "Something went wrong; nothing was changed. Try again.".to_owned(),
        ProblemKind::StoreUnavailable => {
            "The service is briefly unavailable; nothing was changed. Try again in a moment.".to_owned()
        }
        _ => {
            let mut text = problem.detail.clone();
            if let Some(first) = text.get(..1) {
                let upper = first.to_uppercase();
                text.replace_range(..1, &upper);
            }
            text
        }
    }
}

/// Splits a textarea into its non-empty trimmed lines.
pub(crate) fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// Splits a comma-separated field into its non-empty trimmed items.
pub(crate) fn items(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_lands_beside_the_field_its_path_starts_with() {
        let mut form = Form::default();
        let problem = Problem::new(ProblemKind::InvalidField, "must be an http(s) URL", Some("webhooks.0.url".into()));
        form.problem(&problem, &["name", "webhooks"]);
        assert_eq!(form.err("webhooks"), "Must be an http(s) URL");
        let mut form = Form::default();
        form.problem(&Problem::new(ProblemKind::Conflict, "taken", Some("other".into())), &["name"]);
        assert_eq!(form.err("form"), "Taken");
        let internal = Problem::new(ProblemKind::Internal, "sqlite: disk I/O error at page 7", None);
        assert!(!human(&internal).contains("sqlite"), "no internal text reaches a page");
    }
}
