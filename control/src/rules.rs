//! What an application may be: the types the specs declare, with the scopes and webhook events
//! each may use, and the checks on every field of a new or edited application (422, naming the
//! field).

use sandgate_core::trust_list::TrustList;
use sandgate_openapi::Api;
use sandgate_store::{DemoApplication, StoreError, Webhook};
use serde_json::Value;

/// One application type: the scopes and webhook events an application of it may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppType {
    /// Its name.
    pub name: String,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// Webhook events it may subscribe to.
    pub events: Vec<String>,
}

/// Why the specs' application types cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppTypesError {
    /// A declaration is not shaped as documented.
    #[error("{}: {key} is malformed: it maps type names to {{scopes: [...], events: [...]}} (or, for the demo, {{type, entities, first_call: {{operation, query: {{name: value}}}}}})", file.display())]
    Malformed {
        /// The document.
        file: std::path::PathBuf,
        /// The extension key at fault.
        key: String,
    },
    /// Two documents declare one type differently.
    #[error("application type {name:?} is declared differently by {} and {}", first.display(), second.display())]
    Conflict {
        /// The type.
        name: String,
        /// The first document that declares it.
        first: std::path::PathBuf,
        /// The document that contradicts it.
        second: std::path::PathBuf,
    },
    /// The demo's `first_call` names an operation its document does not have.
    #[error("{}: x-sandgate-demo-application.first_call names operation {operation:?}, which the document does not have", file.display())]
    UnknownFirstCall {
        /// The document.
        file: std::path::PathBuf,
        /// The `operationId` it names.
        operation: String,
    },
    /// The demo application names a type no spec declares.
    #[error("x-sandgate-demo-application names type {0:?}, which no spec declares")]
    UnknownDemoType(String),
}

/// The application types the loaded specs declare (`x-sandgate-application-types`, beside each
/// API's own scopes and events), and what the demo partner's application is
/// (`x-sandgate-demo-application: {type, entities, first_call}`). Nothing here names an API: a spec
/// dropped into `specs/` brings its types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppTypes {
    types: Vec<AppType>,
    /// The demo application's type and entity types.
    demo: Option<(String, Vec<String>)>,
    /// Where the demo partner's first calls go.
    demo_calls: Option<DemoCalls>,
}

/// Where the demo partner's first calls go, for `sandgate up` to print: the API whose document
/// declares `x-sandgate-demo-application` (its token endpoint), and the call it suggests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCalls {
    /// The document that declares the demo application (not one that inherits it).
    pub file: std::path::PathBuf,
    /// `first_call`, when declared.
    pub first_call: Option<FirstCall>,
}

/// `x-sandgate-demo-application.first_call: {operation, query}`: an operation of the same
/// document (by `operationId`) and the query it is called with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstCall {
    /// The `operationId`.
    pub operation: String,
    /// Query parameters by name.
    pub query: Vec<(String, Value)>,
}

impl AppTypes {
    /// The types of `apis`. Two documents may declare the same type only identically (versions
    /// of one API inherit it); anything else is refused, naming the type and the documents.
    pub fn from_apis(apis: &[Api]) -> Result<AppTypes, AppTypesError> {
        let mut types: Vec<(AppType, &std::path::Path)> = Vec::new();
        let (demo, demo_calls) = match demo_api(apis) {
            Some((api, spec)) => {
                let kind = spec["type"].as_str().ok_or_else(|| AppTypesError::Malformed {
                    file: api.file.clone(),
                    key: "x-sandgate-demo-application.type".to_owned(),
                })?;
                let entities = spec["entities"].as_array().into_iter().flatten().filter_map(Value::as_str);
                let first_call = spec.get("first_call").map(|call| first_call(api, call)).transpose()?;
                (
                    Some((kind.to_owned(), entities.map(str::to_owned).collect())),
                    Some(DemoCalls { file: api.file.clone(), first_call }),
                )
            }
            None => (None, None),
        };
        for api in apis {
            let Some(declared) = api.extensions.get("x-sandgate-application-types") else { continue };
            let declared = declared.as_object().ok_or_else(|| AppTypesError::Malformed {
                file: api.file.clone(),
                key: "x-sandgate-application-types".to_owned(),
            })?;
            for (name, spec) in declared {
                let list = |key: &str| -> Result<Vec<String>, AppTypesError> {
                    let items = spec.get(key).and_then(Value::as_array).ok_or_else(|| AppTypesError::Malformed {
                        file: api.file.clone(),
                        key: format!("x-sandgate-application-types.{name}.{key}"),
                    })?;
                    Ok(items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                };
                let kind = AppType { name: name.clone(), scopes: list("scopes")?, events: list("events")? };
                match types.iter().find(|(known, _)| known.name == *name) {
                    Some((known, _)) if *known == kind => {}
                    Some((_, file)) => {
                        return Err(AppTypesError::Conflict {
                            name: name.clone(),
                            first: file.to_path_buf(),
                            second: api.file.clone(),
                        })
                    }
                    None => types.push((kind, api.file.as_path())),
                }
            }
        }
        let types: Vec<AppType> = types.into_iter().map(|(kind, _)| kind).collect();
        if let Some((name, _)) = demo.as_ref().filter(|(name, _)| !types.iter().any(|t| t.name == *name)) {
            return Err(AppTypesError::UnknownDemoType(name.clone()));
        }
        Ok(AppTypes { types, demo, demo_calls })
    }

    /// The type named `name` (422 on `type` otherwise).
    pub fn get(&self, name: &str) -> Result<&AppType, StoreError> {
        self.types.iter().find(|t| t.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.types.iter().map(|t| t.name.as_str()).collect();
            StoreError::invalid("type", format!("must be one of {names:?} (the types the specs declare); got {name:?}"))
        })
    }

    /// Every declared type, in the order the specs declare them.
    pub fn all(&self) -> &[AppType] {
        &self.types
    }

    /// The demo partner's application, when a spec describes one: every scope of its type.
    pub fn demo(&self) -> Option<DemoApplication<'_>> {
        let (name, entities) = self.demo.as_ref()?;
        let kind = self.types.iter().find(|t| t.name == *name)?;
        Some(DemoApplication { kind: &kind.name, scopes: &kind.scopes, entities })
    }

    /// Where the demo partner's first calls go, when a spec describes the demo application.
    pub fn demo_calls(&self) -> Option<&DemoCalls> {
        self.demo_calls.as_ref()
    }
}

/// The API that declares `x-sandgate-demo-application`, and the declaration: a document that
/// declares it itself before one that inherits it through `x-sandgate-extends`.
fn demo_api(apis: &[Api]) -> Option<(&Api, &Value)> {
    let declaring = |api: &&Api| api.extensions.contains_key("x-sandgate-demo-application");
    let own = apis.iter().filter(declaring).find(|api| !api.extensions.contains_key("x-sandgate-extends"));
    let api = own.or_else(|| apis.iter().find(declaring))?;
    Some((api, &api.extensions["x-sandgate-demo-application"]))
}

/// `first_call: {operation, query}` of the demo application declared by `api`.
fn first_call(api: &Api, call: &Value) -> Result<FirstCall, AppTypesError> {
    let malformed = |key: &str| AppTypesError::Malformed {
        file: api.file.clone(),
        key: format!("x-sandgate-demo-application.first_call{key}"),
    };
    let operation = call.get("operation").and_then(Value::as_str).ok_or_else(|| malformed(".operation"))?;
    if !api.operations.iter().any(|op| op.operation_id.as_deref() == Some(operation)) {
        return Err(AppTypesError::UnknownFirstCall { file: api.file.clone(), operation: operation.to_owned() });
    }
    let query = match call.get("query") {
        None => Vec::new(),
        Some(Value::Object(query)) if query.values().all(|v| !v.is_object() && !v.is_array()) => {
            query.iter().map(|(name, value)| (name.clone(), value.clone())).collect()
        }
        Some(_) => return Err(malformed(".query")),
    };
    Ok(FirstCall { operation: operation.to_owned(), query })
}

/// Checks the name of a new application.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = (3..=64).contains(&name.len())
        && name.bytes().enumerate().all(|(i, b)| b.is_ascii_lowercase() || b.is_ascii_digit() || (i > 0 && b == b'-'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid("name", format!("{name:?}: 3 to 64 of a-z, 0-9 and '-', not starting with '-'")))
    }
}

/// Checks a permission.
pub fn check_permission(permission: &str) -> Result<(), StoreError> {
    match permission {
        "read" | "read_write" => Ok(()),
        other => Err(StoreError::invalid("permission", format!("must be read or read_write; got {other:?}"))),
    }
}

/// Checks an e-mail address (shape only: something@domain.tld, no spaces).
pub fn check_email(field: &str, email: &str) -> Result<(), StoreError> {
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
                && email.len() <= 254
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(field, format!("{email:?} is not an e-mail address")))
    }
}

/// Checks a required free-text field (non-blank, at most `max` characters).
pub fn check_text(field: &str, text: &str, max: usize) -> Result<(), StoreError> {
    if text.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(StoreError::invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

/// The fields of an application that depend on each other, checked together.
#[derive(Debug)]
pub struct AppShape<'a> {
    /// Its type.
    pub kind: &'a str,
    /// Scopes.
    pub scopes: &'a [String],
    /// Trust list entries.
    pub trust_list: &'a [String],
    /// Webhooks.
    pub webhooks: &'a [Webhook],
    /// Entity types.
    pub entities: &'a [String],
    /// Benefits.
    pub benefits: &'a [String],
    /// Which of these are the stored application's (an update), not the request's.
    pub stored: Stored,
}

/// What of an application's shape is already stored: a value sent against it conflicts with the
/// stored application (409), while a body at odds with itself is the body's fault (422).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stored {
    /// The type is the stored one (it never changes): scopes and webhook events it does not
    /// allow conflict with it.
    pub kind: bool,
    /// The webhooks or the trust list (not both) are the stored ones: a webhook URL off the
    /// trust list conflicts with them.
    pub webhooks_or_trust_list: bool,
}

/// A refusal of `field`: a conflict with what is stored when `stored`, else an invalid value.
fn refusal(stored: bool, field: String, detail: String) -> StoreError {
    match stored {
        true => StoreError::conflict(field, detail),
        false => StoreError::invalid(field, detail),
    }
}

/// Most entries in one application's trust list: enough for any real deployment (use CIDRs for
/// ranges), small enough that no partner can make every directory reload slow for everyone.
pub const MAX_TRUST_ENTRIES: usize = 100;
/// Most webhooks of one application.
pub const MAX_WEBHOOKS: usize = 20;

/// Checks scopes against the type, each trust entry, each webhook (URL on the trust list, events
/// allowed for the type), entity types and benefits.
pub fn check_shape(types: &AppTypes, shape: &AppShape<'_>) -> Result<(), StoreError> {
    let kind = types.get(shape.kind)?;
    if shape.scopes.is_empty() {
        return Err(StoreError::invalid("scopes", format!("name at least one of {:?}", kind.scopes)));
    }
    for (i, scope) in shape.scopes.iter().enumerate() {
        if !kind.scopes.contains(scope) {
            return Err(refusal(
                shape.stored.kind,
                format!("scopes.{i}"),
                format!("a {} application may use the scopes {:?}; got {scope:?}", kind.name, kind.scopes),
            ));
        }
    }
    if shape.trust_list.len() > MAX_TRUST_ENTRIES {
        return Err(StoreError::invalid(
            "trust_list",
            format!("at most {MAX_TRUST_ENTRIES} entries; cover address ranges with CIDRs"),
        ));
    }
    if shape.webhooks.len() > MAX_WEBHOOKS {
        return Err(StoreError::invalid("webhooks", format!("at most {MAX_WEBHOOKS} webhooks")));
    }
    let mut trust = TrustList::default();
    for (i, entry) in shape.trust_list.iter().enumerate() {
        if entry.split_ascii_whitespace().count() != 1 {
            return Err(StoreError::invalid(format!("trust_list.{i}"), "one IP, CIDR or trust URL per entry"));
        }
        TrustList::parse(entry).map_err(|e| StoreError::invalid(format!("trust_list.{i}"), e.to_string()))?;
    }
    if !shape.trust_list.is_empty() {
        trust = TrustList::parse(&shape.trust_list.join(" ")).unwrap_or_default();
    }
    for (i, hook) in shape.webhooks.iter().enumerate() {
        let scheme_ok = hook.url.starts_with("https://") || hook.url.starts_with("http://");
        if !scheme_ok || hook.url.len() > 2048 {
            return Err(StoreError::invalid(format!("webhooks.{i}.url"), "must be an http(s) URL"));
        }
        if !trust.admits_origin(hook.url.as_bytes()) {
            return Err(refusal(
                shape.stored.webhooks_or_trust_list,
                format!("webhooks.{i}.url"),
                format!("{} is not on the trust list: add its origin (scheme://host[:port]) as a trust URL", hook.url),
            ));
        }
        if hook.events.is_empty() {
            return Err(StoreError::invalid(format!("webhooks.{i}.events"), "subscribe to at least one event"));
        }
        for (j, event) in hook.events.iter().enumerate() {
            if !kind.events.contains(event) {
                return Err(refusal(
                    shape.stored.kind,
                    format!("webhooks.{i}.events.{j}"),
                    format!("a {} application may subscribe to {:?}; got {event:?}", kind.name, kind.events),
                ));
            }
        }
    }
    for (i, entity) in shape.entities.iter().enumerate() {
        let ok = (2..=64).contains(&entity.len())
            && entity.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(StoreError::invalid(format!("entities.{i}"), "an entity type: 2 to 64 of a-z, 0-9 and '_'"));
        }
    }
    for (i, benefit) in shape.benefits.iter().enumerate() {
        check_text(&format!("benefits.{i}"), benefit, 200)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn pos_types() -> AppTypes {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/pos-api/v2.5.1.yaml");
        AppTypes::from_apis(&sandgate_openapi::load_file(&file).expect("spec")).expect("types")
    }

    fn field_of(result: Result<(), StoreError>) -> String {
        match result {
            Err(StoreError::Invalid { field, .. }) => field,
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn shape_errors_name_the_field() {
        let types = pos_types();
        let trust = strings(&["https://hooks.example.com"]);
        let hooks =
            vec![Webhook { url: "https://hooks.example.com/in".into(), events: strings(&["integration.connected"]) }];
        let good = AppShape {
            kind: "generic",
            scopes: &strings(&["merchant"]),
            trust_list: &trust,
            webhooks: &hooks,
            entities: &[],
            benefits: &[],
            stored: Stored::default(),
        };
        assert!(check_shape(&types, &good).is_ok());
        assert_eq!(
            field_of(check_shape(&types, &AppShape { kind: "hardware", scopes: &strings(&["customer"]), ..good })),
            "scopes.0"
        );
        assert_eq!(field_of(check_shape(&types, &AppShape { kind: "robot", ..good })), "type");
        let elsewhere =
            vec![Webhook { url: "https://evil.example.net/in".into(), events: strings(&["integration.connected"]) }];
        assert_eq!(field_of(check_shape(&types, &AppShape { webhooks: &elsewhere, ..good })), "webhooks.0.url");
        let wrong_event =
            vec![Webhook { url: "https://hooks.example.com/in".into(), events: strings(&["validation.requested"]) }];
        assert_eq!(field_of(check_shape(&types, &AppShape { webhooks: &wrong_event, ..good })), "webhooks.0.events.0");
        // Against what is stored, the same refusals are conflicts with it (409).
        let conflict = |shape: &AppShape<'_>| match check_shape(&types, shape) {
            Err(StoreError::Conflict { field, .. }) => field,
            other => panic!("expected a 409, got {other:?}"),
        };
        let stored_type = Stored { kind: true, webhooks_or_trust_list: false };
        assert_eq!(conflict(&AppShape { webhooks: &wrong_event, stored: stored_type, ..good }), "webhooks.0.events.0");
        let stored_list = Stored { kind: false, webhooks_or_trust_list: true };
        assert_eq!(conflict(&AppShape { webhooks: &elsewhere, stored: stored_list, ..good }), "webhooks.0.url");
        assert_eq!(
            field_of(check_shape(&types, &AppShape { webhooks: &elsewhere, stored: stored_type, ..good })),
            "webhooks.0.url"
        );
        assert_eq!(
            field_of(check_shape(&types, &AppShape { trust_list: &strings(&["10.0.0.0/33"]), webhooks: &[], ..good })),
            "trust_list.0"
        );
    }

    #[test]
    fn types_come_from_the_specs_and_may_not_conflict() {
        let types = pos_types();
        let demo = types.demo().expect("the POS spec describes the demo application");
        assert_eq!(
            (demo.kind, demo.scopes),
            ("generic", &["merchant".to_owned(), "customer".to_owned()][..]),
            "inherited by v2.5.1"
        );
        assert_eq!(demo.entities, ["merchant_location"]);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/pos-api");
        let both = AppTypes::from_apis(&sandgate_openapi::load_dir(&dir).expect("specs")).expect("types");
        let calls = both.demo_calls().expect("the demo's calls");
        assert!(calls.file.ends_with("pos-api/v2.5.yaml"), "the declaring document, not v2.5.1: {:?}", calls.file);
        let first = calls.first_call.as_ref().expect("first_call");
        assert_eq!(first.operation, "searchCustomers");
        assert_eq!(first.query.len(), 3);
        assert_eq!(types.get("debt_collection").expect("declared").scopes, ["customer"]);
        let dir = tempfile::tempdir().expect("dir");
        let doc = |scopes: &str| {
            format!("openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\nservers: [{{url: /other-api/v1}}]\npaths: {{}}\nx-sandgate-application-types:\n  generic: {{scopes: [{scopes}], events: []}}\n")
        };
        std::fs::write(dir.path().join("a.yaml"), doc("merchant")).expect("write");
        std::fs::write(dir.path().join("b.yaml"), doc("other")).expect("write");
        let apis = sandgate_openapi::load_dir(dir.path()).expect("load");
        let refused = AppTypes::from_apis(&apis).expect_err("two definitions of generic");
        assert!(matches!(&refused, AppTypesError::Conflict { name, .. } if name == "generic"), "{refused}");
        std::fs::remove_file(dir.path().join("b.yaml")).expect("remove");
        let demo = |call: &str| {
            doc("merchant")
                + &format!("x-sandgate-demo-application: {{type: generic, entities: [], first_call: {call}}}\n")
        };
        std::fs::write(dir.path().join("a.yaml"), demo("{operation: nowhere}")).expect("write");
        let apis = sandgate_openapi::load_dir(dir.path()).expect("load");
        let refused = AppTypes::from_apis(&apis).expect_err("an operation the document does not have");
        assert!(
            matches!(&refused, AppTypesError::UnknownFirstCall { operation, .. } if operation == "nowhere"),
            "{refused}"
        );
        std::fs::write(dir.path().join("a.yaml"), demo("{query: {a: 1}}")).expect("write");
        let apis = sandgate_openapi::load_dir(dir.path()).expect("load");
        let refused = AppTypes::from_apis(&apis).expect_err("no operation");
        assert!(refused.to_string().contains("first_call.operation"), "{refused}");
    }

    #[test]
    fn trust_lists_and_webhooks_are_capped() {
        let types = pos_types();
        let entries: Vec<String> =
            (0..=MAX_TRUST_ENTRIES).map(|i| format!("10.0.{}.{}/32", i / 256, i % 256)).collect();
        let shape = AppShape {
            kind: "generic",
            scopes: &strings(&["merchant"]),
            trust_list: &entries,
            webhooks: &[],
            entities: &[],
            benefits: &[],
            stored: Stored::default(),
        };
        assert_eq!(field_of(check_shape(&types, &shape)), "trust_list");
        assert!(check_shape(&types, &AppShape { trust_list: &entries[..MAX_TRUST_ENTRIES], ..shape }).is_ok());
        let trust = strings(&["https://hooks.example.com"]);
        let hook = Webhook { url: "https://hooks.example.com/in".into(), events: strings(&["integration.connected"]) };
        let hooks = vec![hook; MAX_WEBHOOKS + 1];
        assert_eq!(
            field_of(check_shape(&types, &AppShape { trust_list: &trust, webhooks: &hooks, ..shape })),
            "webhooks"
        );
    }

    #[test]
    fn names_and_emails() {
        assert!(check_name("pos-connector").is_ok());
        for bad in ["ab", "-abc", "Abc", "a b c", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_email("email", "dev@example.com").is_ok());
        for bad in ["dev", "dev@", "@example.com", "dev@example", "d ev@example.com", "dev@.com"] {
            assert!(check_email("email", bad).is_err(), "{bad}");
        }
    }
}
