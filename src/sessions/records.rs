//! Sessions and security events as people see them, and writing an event:
//! the listing of a stored session, an entry of the security log, and the
//! user agent cut to what is kept.

use super::{device::device_name, SecurityEventInfo, SessionInfo};
use crate::{
    clock::{now_ms, rfc3339},
    ids::{SessionId, UserId},
    request::ClientInfo,
    store::{events::NewEvent, Db, SecurityEvent, Session, StoreError},
    vocab::EventKind,
};

/// Writes an entry of `user_id`'s security log on `db` (the pool, or the
/// transaction of the command it tells of), naming the client's device.
pub async fn write_event(
    db: &Db,
    user_id: &UserId,
    kind: EventKind,
    client: &ClientInfo,
    detail: &str,
) -> Result<(), StoreError> {
    let device = device_name(&client.user_agent);
    db.record_event(NewEvent {
        user_id,
        kind,
        at: now_ms(),
        device: Some(&device),
        ip: client.ip.as_deref(),
        detail,
    })
    .await
}

/// The listing of a stored session; `current` is the caller's session id.
/// `label` names a provider as its button does.
pub fn session_info(
    s: Session,
    current: Option<&SessionId>,
    label: impl Fn(&str) -> String,
) -> SessionInfo {
    let (method, method_title) = match &s.provider {
        Some(provider) => (format!("oidc:{provider}"), label(provider)),
        None => (s.method.as_str().to_owned(), s.method.title().to_owned()),
    };
    SessionInfo {
        current: current == Some(&s.id),
        device: device_name(&s.user_agent),
        kind: s.kind,
        ip: s.ip,
        method,
        method_title,
        created_at: rfc3339(s.created_at),
        last_used_at: rfc3339(s.last_used_at),
        id: s.id.into_string(),
    }
}

/// The listing of a stored security event (`None` for a kind this version
/// does not know).
pub(super) fn event_info(e: SecurityEvent) -> Option<SecurityEventInfo> {
    Some(SecurityEventInfo {
        kind: e.kind,
        at: rfc3339(e.at),
        device: e.device,
        ip: e.ip,
        detail: e.detail,
    })
}

/// At most `max` characters of `s`.
pub fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
