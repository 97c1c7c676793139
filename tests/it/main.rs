//! One integration-test binary; each area is a module (compiling many test
//! crates is slow on CI's two cores).

mod check;
mod cli;
mod config;
mod daemon_http;
mod daemon_limits;
mod daemon_reload;
mod disk_full;
mod docs_commands;
mod fault_suite;
mod fault_webhooks;
mod import;
mod jira_client;
mod jira_model;
mod jira_transport;
mod jira_workflow;
mod jira_writes;
mod lifecycle;
mod metrics_check;
mod operator;
mod pairing;
mod reconcile;
mod sim_api;
mod sim_conformance;
mod sim_faults;
mod sim_permissions;
mod state;
mod support;
mod sync_accept;
mod sync_crash;
mod sync_e2e;
mod sync_links;
mod sync_push;
mod sync_tree;
