//! The plan: every case to run, per selected operation — valid requests (boundaries first, then
//! fabricated ones up to the budget), invalid ones, credential cases, and stateful sequences.

use serde_json::Value;

use sandgate_openapi::infer;

use crate::cases::encode::Draft;
use crate::cases::values::{OperationValues, RequestSchemas};
use crate::cases::{chains, negative, sequences, Auth, Case, Expect, Step};
use crate::error::ContractError;
use crate::spec::{declared_scopes, token_operation, Filters, Specs};

/// What the plan is made of (by default: 10 examples, seed 0, every operation, nothing fixed,
/// no foreign or per-scope tokens).
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Fabricated valid requests per operation, after the spec's examples and up to four times as
    /// many boundary values; invalid ones are capped at twice that.
    pub examples: usize,
    /// Base seed: the same seed and specs give the same plan.
    pub seed: u64,
    /// Which operations are tested.
    pub filters: Filters,
    /// Parameters with a fixed value, by name.
    pub fixed: Vec<(String, Value)>,
    /// Whether a token of another environment is at hand (`--foreign-token`).
    pub foreign_token: bool,
    /// Whether tokens can be minted per scope (client credentials).
    pub scoped_tokens: bool,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            examples: 10,
            seed: 0,
            filters: Filters::default(),
            fixed: Vec::new(),
            foreign_token: false,
            scoped_tokens: false,
        }
    }
}

/// `[api][op]`: an operation's generators, when compiled.
pub type Generators = Vec<Vec<Option<OperationValues>>>;

/// The planned cases, each with the operation it tests.
pub struct Plan {
    /// `(api, op, case)`.
    pub cases: Vec<(usize, usize, Case)>,
    /// The operations reported on: `(api, op)`.
    pub selected: Vec<(usize, usize)>,
    /// Selected operations whose schemas could not be compiled: `(api, op, why)`.
    pub skipped: Vec<(usize, usize, ContractError)>,
    /// The generators of the operations the cases need (`None`: not needed, or not compiled).
    pub values: Generators,
}

/// Plans the cases of every selected operation of `specs`; `Err` when the filters select none.
pub fn plan(specs: &Specs, options: &PlanOptions) -> Result<Plan, ContractError> {
    let selected = selection(specs, |a, o| options.filters.admits(&specs.apis[a].operations[o]));
    if selected.is_empty() {
        return Err(ContractError::NothingSelected);
    }
    let mut chosen: Vec<Vec<bool>> = specs.apis.iter().map(|api| vec![false; api.operations.len()]).collect();
    for (a, o) in &selected {
        chosen[*a][*o] = true;
    }
    let resources: Vec<_> = specs.apis.iter().map(|api| infer::infer(api).ok()).collect();
    let takes_id = |op: &sandgate_openapi::Operation| {
        op.parameters.iter().any(|p| p.location == sandgate_openapi::ParamLocation::Path)
    };
    let selected_take_ids: Vec<bool> = (0..specs.apis.len())
        .map(|a| selected.iter().any(|(x, o)| *x == a && takes_id(&specs.apis[a].operations[*o])))
        .collect();
    let needed = |a: usize, o: usize| {
        let api = &specs.apis[a];
        let is_selected = |x: usize| chosen[a][x];
        // A selected operation's collection (its create, read, delete) and the sources of
        // links to it feed its sequences.
        let collection = |x: usize| resources[a].as_ref().and_then(|r| r[x].as_ref()).map(|r| &r.collection);
        let same_collection = collection(o)
            .is_some_and(|c| (0..api.operations.len()).any(|x| is_selected(x) && collection(x) == Some(c)));
        let links_to_selected = api.operations[o].responses.iter().flat_map(|r| &r.links).any(|link| {
            api.operations
                .iter()
                .enumerate()
                .any(|(x, t)| is_selected(x) && t.operation_id.as_ref() == Some(&link.operation_id))
        });
        // A POST may feed any operation with a path parameter through an inferred link.
        let may_feed = api.operations[o].method == http::Method::POST && selected_take_ids[a];
        is_selected(o) || same_collection || links_to_selected || may_feed
    };
    let (values, skipped) = compile(specs, options, &needed, &selected);
    let mut cases = Vec::new();
    for (a, api) in specs.apis.iter().enumerate() {
        let values = &values[a];
        let selected = |o: usize| chosen[a][o];
        let scopes = declared_scopes(api);
        for (o, op) in api.operations.iter().enumerate() {
            let Some(v) = values[o].as_ref().filter(|_| selected(o)) else { continue };
            let seed = options.seed ^ hash(&op.label()) ^ (a as u64) << 40;
            let step = |request, expect, auth| Step {
                operation: op.label(),
                api: a,
                op: o,
                request,
                bindings: Vec::new(),
                expect,
                auth,
            };
            // Valid, each group with its own budget so that none crowds the others out: the
            // spec's own examples, minimal and full requests; boundaries (one of each value in
            // turn, up to four times the budget); fabricated values (up to the budget).
            let budget = options.examples.max(1);
            let mut fixed: Vec<(String, Draft)> = v.spec_examples(op, seed);
            fixed.push(("valid: required values only".to_owned(), v.draft(op, seed, false)));
            fixed.push(("valid: every parameter".to_owned(), v.draft(op, seed.wrapping_add(1), true)));
            let boundaries = v.boundaries(op, seed).into_iter().enumerate().map(|(i, boundary)| {
                let base = v.draft(op, seed.wrapping_add(2 + i as u64), false);
                (format!("valid: {}", boundary.label), v.with(op, base, &boundary.target, boundary.value))
            });
            let fabricated = (0..budget * 2).map(|i| {
                let draft = v.draft(op, seed.wrapping_add(1000 + i as u64), i % 2 == 0);
                (format!("valid: fabricated #{i}"), draft)
            });
            let groups: [(usize, Vec<(String, Draft)>); 3] =
                [(usize::MAX, fixed), (budget * 4, boundaries.collect()), (budget, fabricated.collect())];
            let mut kept: Vec<crate::cases::Request> = Vec::new();
            let mut first_valid = None;
            for (limit, group) in groups {
                let mut taken = 0;
                for (title, draft) in group {
                    if taken >= limit {
                        break;
                    }
                    let Some(encoded) = v.valid(api, op, &draft) else { continue };
                    if kept.contains(&encoded.request) {
                        continue;
                    }
                    taken += 1;
                    first_valid.get_or_insert(draft);
                    kept.push(encoded.request.clone());
                    let steps = vec![step(encoded.request, Expect::Valid, Auth::Default)];
                    cases.push((a, o, Case { title, steps }));
                }
            }
            // Invalid: each mutation of a valid draft, up to the same budget.
            let Some(base) = first_valid else { continue };
            for mutation in negative::mutations(op, v).into_iter().take(options.examples.max(1) * 2) {
                if let Some(encoded) = mutation.apply(api, op, v, &base) {
                    let expect = Expect::Invalid { mutation: mutation.label.clone() };
                    let title = format!("invalid: {}", mutation.label);
                    cases.push((a, o, Case { title, steps: vec![step(encoded.request, expect, Auth::Default)] }));
                }
            }
            // Credentials, when the operation demands them.
            let secured = !op.security.is_empty() && op.security.iter().all(|alternative| !alternative.is_empty());
            if secured {
                let request = crate::cases::encode::encode(api, op, &base).request;
                let mut auth_cases = vec![("auth: no credentials", Expect::NoCredentials, Auth::Without)];
                if options.foreign_token {
                    auth_cases.push(("auth: another environment's token", Expect::ForeignToken, Auth::Foreign));
                }
                for (title, expect, auth) in auth_cases {
                    cases.push((
                        a,
                        o,
                        Case { title: title.to_owned(), steps: vec![step(request.clone(), expect, auth)] },
                    ));
                }
                let needed = op.scopes.as_ref().filter(|s| !s.is_empty());
                let other = needed.and_then(|needed| scopes.iter().find(|s| !needed.contains(s)));
                if let (true, Some(scope)) = (options.scoped_tokens, other) {
                    let expect = Expect::MissingScope { scope: scope.clone() };
                    let auth = Auth::Scope { scope: scope.clone() };
                    let title = format!("auth: a token with only scope {scope}");
                    cases.push((a, o, Case { title, steps: vec![step(request, expect, auth)] }));
                }
            }
        }
        // Sequences: ids flow from one answer into the next request.
        if let Some(resources) = &resources[a] {
            let seed = options.seed ^ a as u64;
            for (o, case) in sequences::crud(a, api, resources, values, &selected, seed) {
                cases.push((a, o, case));
            }
            for (o, case) in sequences::lifecycle(a, api, resources, values, &selected, seed) {
                cases.push((a, o, case));
            }
        }
        for (o, case) in sequences::links(a, api, values, &selected, options.seed) {
            cases.push((a, o, case));
        }
        for (o, case) in sequences::inferred(a, api, values, &selected, options.seed) {
            cases.push((a, o, case));
        }
        for (o, case) in chains::chains(a, api, values, &selected, options.seed) {
            cases.push((a, o, case));
        }
    }
    Ok(Plan { cases, selected, skipped, values })
}

/// A plan of recorded cases (replay): their operations are reported on; only the token
/// endpoint's generator is compiled (it fabricates the token request's headers).
pub fn replay(specs: &Specs, options: &PlanOptions, cases: Vec<(usize, usize, Case)>) -> Plan {
    let steps = |a: usize, o: usize| cases.iter().flat_map(|(_, _, c)| &c.steps).any(|s| (s.api, s.op) == (a, o));
    let selected = selection(specs, steps);
    let (values, skipped) = compile(specs, options, &|_, _| false, &selected);
    Plan { cases, selected, skipped, values }
}

/// Every `(api, op)` of `specs` that `admits`.
fn selection(specs: &Specs, admits: impl Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
    let all = specs.apis.iter().enumerate().flat_map(|(a, api)| (0..api.operations.len()).map(move |o| (a, o)));
    all.filter(|(a, o)| admits(*a, *o)).collect()
}

/// The generators of the `needed` operations and of the token endpoint, and why those of
/// selected operations could not be compiled. Compiling one costs up to a few hundred
/// milliseconds on a large spec, so no other operation is compiled.
fn compile(
    specs: &Specs,
    options: &PlanOptions,
    needed: &dyn Fn(usize, usize) -> bool,
    selected: &[(usize, usize)],
) -> (Generators, Vec<(usize, usize, ContractError)>) {
    let token = token_operation(&specs.apis);
    let mut schemas = RequestSchemas::default();
    let mut skipped = Vec::new();
    let mut values = Vec::with_capacity(specs.apis.len());
    for (a, api) in specs.apis.iter().enumerate() {
        let mut compiled = Vec::with_capacity(api.operations.len());
        for (o, op) in api.operations.iter().enumerate() {
            if !needed(a, o) && token != Some((a, o)) {
                compiled.push(None);
                continue;
            }
            match OperationValues::compile(op, &mut schemas, &options.fixed) {
                Ok(v) => compiled.push(Some(v)),
                Err(why) => {
                    if selected.contains(&(a, o)) {
                        skipped.push((a, o, why));
                    }
                    compiled.push(None);
                }
            }
        }
        values.push(compiled);
    }
    (values, skipped)
}

/// FNV-1a: a stable seed per operation, whatever order operations are planned in.
pub fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn shop_plan() -> (Specs, Plan) {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/shop.yaml");
        let specs = Specs::load(&[file]).expect("the shop fixture loads");
        let options = PlanOptions { seed: 7, ..PlanOptions::default() };
        let plan = plan(&specs, &options).expect("plans");
        (specs, plan)
    }

    fn titles<'a>(specs: &Specs, plan: &'a Plan, operation: &str) -> Vec<&'a str> {
        let op = |a: usize, o: usize| specs.apis[a].operations[o].label();
        plan.cases.iter().filter(|(a, o, _)| op(*a, *o) == operation).map(|(_, _, c)| c.title.as_str()).collect()
    }

    #[test]
    fn valid_cases_include_the_spec_examples_and_what_schemathesis_tries() {
        let (specs, plan) = shop_plan();
        let titles = titles(&specs, &plan, "createItem");
        for wanted in [
            "valid: the spec's examples",
            "valid: empty string of body property note",
            "valid: unicode string of body property note",
            "valid: null of body property note",
            "valid: an undeclared property of the body",
            "valid: unicode string of body property name",
        ] {
            assert!(titles.contains(&wanted), "{wanted} not planned: {titles:#?}");
        }
        let example = plan.cases.iter().find(|(_, _, c)| c.title == "valid: the spec's examples").expect("planned");
        let body = example.2.steps[0].request.body.as_deref().unwrap_or_default();
        assert!(body.contains("the spec's own example"), "{body}");
        // A value the spec forbids is never a valid case: `name` has minLength 1.
        assert!(!titles.contains(&"valid: empty string of body property name"), "{titles:#?}");
    }

    #[test]
    fn an_object_made_under_one_path_feeds_the_operations_named_for_it_elsewhere() {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/control-plane/v1.yaml");
        let specs = Specs::load(&[file]).expect("the control plane's spec loads");
        let plan = plan(&specs, &PlanOptions::default()).expect("plans");
        let inferred: Vec<(&str, &str, &str)> = plan
            .cases
            .iter()
            .filter(|(_, _, c)| c.title.starts_with("inferred link"))
            .map(|(_, _, c)| {
                (c.steps[0].operation.as_str(), c.steps[1].operation.as_str(), c.steps[1].request.path.as_str())
            })
            .collect();
        // `POST /v1/partners/{partner_id}/applications` answers `id`: `/v1/applications/{application_id}`.
        let revoke = inferred.iter().find(|(from, to, _)| *from == "createApplication" && *to == "revokeApplication");
        assert!(
            revoke.is_some_and(|(_, _, path)| path.contains("/v1/applications/sandgate-bound-0-0/revoke")),
            "{inferred:#?}"
        );
        assert!(
            inferred.iter().any(|(from, to, _)| *from == "createApplication" && *to == "rotateWebhookSecret"),
            "{inferred:#?}"
        );
        // Explicit links (createApplication has SubmitReview, UpdateApplication) are not inferred again.
        assert!(
            !inferred.iter().any(|(from, to, _)| *from == "createApplication" && ["submitReview", "updateApplication"].contains(to)),
            "{inferred:#?}"
        );
    }

    #[test]
    fn an_operation_gets_what_its_path_names_made_first_however_deep() {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/control-plane/v1.yaml");
        let specs = Specs::load(&[file]).expect("the control plane's spec loads");
        let plan = plan(&specs, &PlanOptions::default()).expect("plans");
        let chain = |target: &str| {
            plan.cases
                .iter()
                .find(|(_, _, c)| c.title.starts_with("chain") && c.steps.last().is_some_and(|s| s.operation == target))
                .map(|(_, _, c)| c)
        };
        // A partner, then its application (the partner's id bound into the path), then the update.
        let update = chain("updateApplication").expect("a chain to updateApplication");
        let route: Vec<&str> = update.steps.iter().map(|s| s.operation.as_str()).collect();
        assert_eq!(route, ["createPartner", "createApplication", "updateApplication"], "{}", update.title);
        assert_eq!(update.steps[1].bindings[0].step, 0);
        assert!(update.steps[1].request.path.contains("sandgate-bound-0-"), "{}", update.steps[1].request.path);
        assert_eq!(update.steps[2].bindings[0].step, 1);
        assert!(update.steps[..2].iter().all(|s| s.expect == Expect::Setup));
        assert_eq!(update.steps[2].expect, Expect::Valid);
    }

    #[test]
    fn a_collection_gets_one_sequence_through_its_whole_lifecycle() {
        let (specs, plan) = shop_plan();
        let lifecycle = plan.cases.iter().find(|(_, _, c)| c.title == "lifecycle of /items").expect("planned");
        let steps: Vec<(&str, &Expect)> = lifecycle.2.steps.iter().map(|s| (s.operation.as_str(), &s.expect)).collect();
        assert_eq!(
            steps,
            vec![
                ("createItem", &Expect::Setup),
                ("listItems", &Expect::Valid),
                ("getItem", &Expect::Created),
                ("deleteItem", &Expect::Setup),
                ("getItem", &Expect::Deleted),
            ]
        );
        // Every step after the create reads the created id from its answer.
        assert!(lifecycle.2.steps[2..].iter().all(|s| s.request.path.contains("sandgate-bound-0-id")));
        assert_eq!(specs.apis[lifecycle.0].operations[lifecycle.1].label(), "createItem");
    }
}
