//! The `sandgate admin` subcommands and their flags, one enum per resource of the control plane.

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(super) enum Emulator {
    /// Scrub now (operator): everything, one environment, or one partner in one environment.
    Scrub {
        /// training, or another environment the emulator serves.
        #[arg(long)]
        environment: Option<String>,
        /// Only this partner's data (needs --environment).
        #[arg(long, requires = "environment")]
        partner: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum Partners {
    /// Create a partner account with its owner; prints the owner's member key once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        contact_name: String,
        #[arg(long)]
        contact_email: String,
        #[arg(long)]
        owner_name: String,
        #[arg(long)]
        owner_email: String,
    },
    /// List partner accounts.
    List,
    /// Show one.
    Show { id: String },
}

#[derive(Debug, Subcommand)]
pub(super) enum Members {
    /// Add a member (owner, admin, developer); prints its member key once.
    Add {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
    },
    /// List members.
    List {
        #[arg(long)]
        partner: String,
    },
    /// Revoke a member: its key stops working at once.
    Revoke {
        #[arg(long)]
        partner: String,
        member_id: String,
    },
}

#[derive(Debug, Args)]
pub(super) struct AppFields {
    /// Description.
    #[arg(long)]
    pub(super) description: Option<String>,
    /// Category.
    #[arg(long)]
    pub(super) category: Option<String>,
    /// A scope (repeat).
    #[arg(long = "scope")]
    pub(super) scopes: Vec<String>,
    /// A trust list entry: IP, CIDR or trust URL (repeat).
    #[arg(long = "trust")]
    pub(super) trust_list: Vec<String>,
    /// A webhook: URL=event[,event…] (repeat).
    #[arg(long = "webhook")]
    pub(super) webhooks: Vec<String>,
    /// An entity type it may access (repeat).
    #[arg(long = "entity")]
    pub(super) entities: Vec<String>,
    /// A benefit it brings (repeat).
    #[arg(long = "benefit")]
    pub(super) benefits: Vec<String>,
    /// Rate-limit plan.
    #[arg(long)]
    pub(super) plan: Option<String>,
    /// Empty a list (update only): webhooks, trust_list, entities or benefits (repeat).
    #[arg(long = "clear", value_parser = ["webhooks", "trust_list", "entities", "benefits"])]
    pub(super) clear: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub(super) enum Apps {
    /// Create an application; prints its webhook signing secret once.
    Create {
        #[arg(long)]
        partner: String,
        #[arg(long)]
        name: String,
        /// An application type the specs declare (x-sandgate-application-types), e.g. generic.
        #[arg(long = "type")]
        kind: String,
        /// read or read_write (immutable).
        #[arg(long)]
        permission: String,
        #[command(flatten)]
        fields: AppFields,
    },
    /// List a partner's applications.
    List {
        #[arg(long)]
        partner: String,
    },
    /// Show one.
    Show { id: String },
    /// Change description, category, scopes, trust list, webhooks, entities, benefits or plan
    /// (given lists replace the current ones).
    Update {
        id: String,
        #[command(flatten)]
        fields: AppFields,
    },
    /// Revoke: every credential and token stops on the next request.
    Revoke {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Rotate the webhook signing secret; prints the new one once.
    RotateWebhookSecret { id: String },
}

#[derive(Debug, Subcommand)]
pub(super) enum Credentials {
    /// Issue a credential; prints the secret once.
    Issue {
        #[arg(long)]
        app: String,
        /// training, production, or a configured environment.
        #[arg(long)]
        environment: String,
    },
    /// List an application's credentials.
    List {
        #[arg(long)]
        app: String,
    },
    /// New secret; the old one works for the grace period.
    Rotate {
        client_id: String,
        #[arg(long)]
        grace_seconds: Option<u64>,
    },
    /// Revoke one credential.
    Revoke { client_id: String },
}

#[derive(Debug, Subcommand)]
pub(super) enum Invitations {
    /// Invite a developer; prints the one-time password once.
    Create {
        #[arg(long)]
        app: String,
        #[arg(long)]
        email: String,
    },
    /// List an application's invitations.
    List {
        #[arg(long)]
        app: String,
    },
    /// Verify with the one-time password; prints the member key once.
    Verify {
        id: String,
        #[arg(long)]
        otp: String,
    },
    /// New one-time password.
    Reset { id: String },
    /// Send again with a new one-time password.
    Resend { id: String },
    /// Revoke the invitation and the developer's access.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub(super) enum Review {
    /// Submit for production.
    Submit {
        #[arg(long)]
        app: String,
        #[arg(long)]
        overview: String,
        /// SCOPE=justification (one per scope of the application).
        #[arg(long = "justify")]
        justifications: Vec<String>,
        #[arg(long)]
        security_measures: String,
        #[arg(long)]
        post_deployment_plan: String,
    },
    /// Approve (operator): opens PRODUCTION to the application; `credentials issue` then issues
    /// its PRODUCTION credential.
    Approve { app: String },
    /// Reject (operator) with reasons.
    Reject {
        app: String,
        #[arg(long = "reason", required = true)]
        reasons: Vec<String>,
    },
    /// The reviews of an application.
    List {
        #[arg(long)]
        app: String,
    },
}

/// An entity and an application.
#[derive(Debug, Args)]
pub(super) struct ConnectionArgs {
    #[arg(long)]
    pub(super) entity_type: String,
    #[arg(long)]
    pub(super) entity_id: String,
    #[arg(long)]
    pub(super) app: String,
}

/// An entity.
#[derive(Debug, Args)]
pub(super) struct EntityArgs {
    #[arg(long)]
    pub(super) entity_type: String,
    #[arg(long)]
    pub(super) entity_id: String,
}

#[derive(Debug, Subcommand)]
pub(super) enum Connections {
    /// Connect an entity to an application (idempotent; sends integration.connected).
    Connect(ConnectionArgs),
    /// Disconnect (sends integration.disconnected).
    Disconnect(ConnectionArgs),
    /// An entity's connections.
    List(EntityArgs),
    /// An entity's benefits.
    Benefits(EntityArgs),
}
