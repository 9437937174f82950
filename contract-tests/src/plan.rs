//! The plan: every case to run, per selected operation — valid requests (boundaries first, then
//! fabricated ones up to the budget), invalid ones, credential cases, and stateful sequences.

use serde_json::Value;

use sandgate_emulator::state::infer;

use crate::cases::encode::Draft;
use crate::cases::values::{OperationValues, RequestSchemas};
use crate::cases::{negative, sequences, Auth, Case, Expect, Step};
use crate::spec::{declared_scopes, Filters, Specs};

/// What the plan is made of.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Valid requests per operation (boundaries count); invalid ones are capped at twice that.
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

/// The planned cases, each with the operation it tests.
pub struct Plan {
    /// `(api, op, case)`.
    pub cases: Vec<(usize, usize, Case)>,
    /// Operations whose schemas could not be compiled: `(api, op, why)`.
    pub skipped: Vec<(usize, usize, String)>,
    /// The generators of every operation (`None`: could not compile).
    pub values: Vec<Vec<Option<OperationValues>>>,
}

/// Plans the cases of every selected operation of `specs`.
pub fn plan(specs: &Specs, options: &PlanOptions) -> Plan {
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    let mut all_values = Vec::with_capacity(specs.apis.len());
    let mut schemas = RequestSchemas::default();
    for (a, api) in specs.apis.iter().enumerate() {
        let mut values = Vec::with_capacity(api.operations.len());
        for (o, op) in api.operations.iter().enumerate() {
            match OperationValues::compile(op, &mut schemas, &options.fixed) {
                Ok(v) => values.push(Some(v)),
                Err(why) => {
                    if options.filters.admits(op) {
                        skipped.push((a, o, why));
                    }
                    values.push(None);
                }
            }
        }
        let selected = |o: usize| options.filters.admits(&api.operations[o]);
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
            // Valid: minimal and full requests, then boundaries, then fabricated values.
            let mut valid: Vec<(String, Draft)> = vec![
                ("valid: required values only".to_owned(), v.draft(op, seed, false)),
                ("valid: every parameter".to_owned(), v.draft(op, seed.wrapping_add(1), true)),
            ];
            for (i, boundary) in v.boundaries(op, seed).into_iter().enumerate() {
                let base = v.draft(op, seed.wrapping_add(2 + i as u64), false);
                valid.push((format!("valid: {}", boundary.label), v.with(op, base, &boundary.target, boundary.value)));
            }
            for i in 0..options.examples * 2 {
                let all = i % 2 == 0;
                valid.push((format!("valid: fabricated #{i}"), v.draft(op, seed.wrapping_add(1000 + i as u64), all)));
            }
            let mut kept: Vec<crate::cases::Request> = Vec::new();
            let mut first_valid = None;
            for (title, draft) in valid {
                if kept.len() >= options.examples.max(1) {
                    break;
                }
                let Some(encoded) = v.valid(api, op, &draft) else { continue };
                if kept.contains(&encoded.request) {
                    continue;
                }
                first_valid.get_or_insert(draft);
                kept.push(encoded.request.clone());
                cases.push((a, o, Case { title, steps: vec![step(encoded.request, Expect::Valid, Auth::Default)] }));
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
        if let Ok(resources) = infer::infer(api) {
            let seed = options.seed ^ a as u64;
            for (o, case) in sequences::crud(a, api, &resources, &values, &selected, seed) {
                cases.push((a, o, case));
            }
        }
        for (o, case) in sequences::links(a, api, &values, &selected, options.seed) {
            cases.push((a, o, case));
        }
        all_values.push(values);
    }
    Plan { cases, skipped, values: all_values }
}

/// FNV-1a: a stable seed per operation, whatever order operations are planned in.
pub fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}
