//! The recovery capability: password-reset and address links, the letters
//! that carry them by mail, and the answers its server functions
//! ([`server_fns`]) give.

use serde::{Deserialize, Serialize};

pub mod server_fns;

server_only! {
    pub mod letters;
    pub mod links;
    pub mod mail;
    pub mod outbox;
    pub mod service;
}

/// One message in the development outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub text: String,
    pub links: Vec<String>,
}
