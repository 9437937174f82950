//! What the developer portal needs of the data plane, which it does not depend on: a TRAINING
//! access token for a member's own credential (minted by the TRAINING issuer in force, so the
//! gateway verifies it like any other), the TRAINING listener's address, and the first commands
//! for a new credential.

use std::sync::Arc;

use sandgate_core::environment::Environment;
use sandgate_gateway::token::Grant;
use sandgate_portal::TryIt;

use crate::reload::Process;

/// The portal's way to TRAINING.
pub struct TrainingBridge {
    process: Arc<Process>,
}

impl TrainingBridge {
    /// The bridge of `process`.
    pub fn new(process: Arc<Process>) -> TrainingBridge {
        TrainingBridge { process }
    }
}

impl TryIt for TrainingBridge {
    fn token(&self, client_id: &str) -> Result<String, String> {
        let shared = &self.process.shared;
        let record = shared
            .store
            .credential(client_id)
            .map_err(|_| "the store is unavailable; try again".to_owned())?
            .ok_or("no such credential")?;
        if !record.active || record.environment != Environment::TRAINING.as_str() {
            return Err("only an active TRAINING credential can be used here".to_owned());
        }
        let tables = shared.tables.load();
        let scope = record.scopes.join(" ");
        let grant = Grant {
            client_id: &record.client_id,
            app: &record.application_id,
            partner: &record.partner_id,
            scope: &scope,
            generation: record.generation,
            chain: "",
        };
        let pair = tables.env(Environment::TRAINING).issuer.mint(&grant).map_err(|e| format!("no token: {e}"))?;
        Ok(pair.access_token)
    }

    fn training_url(&self) -> String {
        let tables = self.process.shared.tables.load();
        let env = tables.settings.env(Environment::TRAINING);
        let scheme = if env.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", env.listen)
    }

    fn first_steps(&self, client_id: &str, secret: &str) -> String {
        let Some(calls) = self.process.control.app_types.demo_calls() else { return String::new() };
        let base = self.training_url();
        match crate::demo_calls::commands(&self.process.reload.apis, calls, &base, client_id, secret) {
            Some(commands) => match &commands.call {
                Some((_, call)) => format!("{}\n\n{}", commands.token, commands.token_then(call)),
                None => commands.token,
            },
            None => String::new(),
        }
    }
}
