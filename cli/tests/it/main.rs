//! The `sandgate` command's tests, one binary: each module runs the real executable.

mod contract_cli_checks_servers_and_replays_findings;
mod control_plane_survives_kill_and_cli_scripts_it;
mod emulator_subcommand_serves_specs_over_http;
mod process;
mod sandgate_check_validates_without_starting;
mod sandgate_up_prints_working_credentials;
mod sigterm_drains_before_stopping;
mod three_nodes_share_one_store_and_one_budget;
mod traces_reach_an_otlp_collector;
mod upgrade_keeps_every_request_under_load;
