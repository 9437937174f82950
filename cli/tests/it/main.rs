//! The `sandgate` command's tests, one binary: each module runs the real executable.

mod contract_cli_checks_servers_and_replays_findings;
mod control_plane_survives_kill_and_cli_scripts_it;
mod emulator_subcommand_serves_specs_over_http;
mod sandgate_up_prints_working_credentials;
