//! The developer portal over HTTP, against a real Sandgate (gateway, control plane, store) on
//! ephemeral ports: what a browser would send, cookies and forms included. The full journey in a
//! real browser is `scripts/portal_browser.py`.

mod visitor;

mod api_docs_show_every_operation_and_try_it_reaches_training;
mod forms_from_elsewhere_are_refused;
mod mail_goes_out_over_smtp_and_waits_when_it_cannot;
mod partner_text_is_escaped_on_every_page;
mod partners_see_only_their_own_and_developers_only_theirs;
mod sessions_start_fresh_and_end_everywhere;
mod sign_in_is_throttled_and_links_work_once;
