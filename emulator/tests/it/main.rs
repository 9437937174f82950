//! The emulator's integration tests, one binary: each module drives the real emulator (in
//! process, or over HTTP on an ephemeral port).

mod common;
mod every_documented_error_code_is_reachable;
mod every_documented_media_type_is_answered;
mod fabricated_responses_conform_to_specs;
mod invalid_requests_are_rejected_naming_each_violation;
mod invalid_requests_get_the_error_shape_the_spec_documents;
mod prefer_header_picks_any_documented_response;
mod properties_of_fabrication_and_validation;
mod real_world_specs_load_and_serve;
mod router_answers_404_405_and_prefers_literals;
mod scenarios_apply_the_pos_business_rules;
mod scrub_empties_the_sandbox_without_failing_requests;
mod state_keeps_what_each_partner_creates;
mod webhooks_and_callbacks_are_raised;
