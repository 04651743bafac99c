//! HTTP concerns that cut across capabilities: the check that a request is
//! for this server's host, security headers and the CSP nonce, the
//! cross-site refusal, the client's address, problem details for the token
//! API's errors, request bodies, and
//! the adapter that gives server functions the contract's statuses and
//! no-JavaScript form behaviour, and a deadline for renders. None of them knows any page or route
//! (`problem.rs` knows only where the token API begins).

pub mod body;
pub mod client_addr;
pub mod cross_site;
pub mod deadline;
pub mod forms;
pub mod headers;
pub mod host;
pub mod metrics;
pub mod oidc;
pub mod problem;
pub mod ready;
pub mod request_id;
pub mod server_fn;
