//! Metrics: every family gatehouse exposes to Prometheus, with its help
//! text and its labels, in one place. A label value is always one of the
//! fixed words written here or a route template, never an address, an
//! account, an email or a token: the exposition stays small whatever
//! clients send, and tells nobody who did what (OWASP Logging Cheat Sheet,
//! "Data to exclude", applies to metrics as much as to logs).
//!
//! The recorder is process-wide (the `metrics` facade has one); it is
//! installed by the first server built in a process. Until then, and in
//! unit tests, recording does nothing.

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::{sync::OnceLock, time::Duration};

/// Declares a label enum: its variants and the word each is exposed as.
macro_rules! label {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }
    };
}

label! {
    /// How a person tried to sign in.
    SignInVia {
        Password = "password",
        Passkey = "passkey",
        Code = "code",
        Provider = "provider",
    }
}

label! {
    /// How a sign-in attempt ended.
    SignInOutcome {
        Ok = "ok",
        WrongPassword = "wrong_password",
        WrongCode = "wrong_code",
        Throttled = "throttled",
        MfaRequired = "mfa_required",
        EmailUnverified = "email_unverified",
        Disabled = "disabled",
        Failed = "failed",
        Error = "error",
    }
}

label! {
    /// How a refresh-token exchange ended.
    RefreshOutcome {
        Rotated = "rotated",
        Grace = "grace",
        ReuseDetected = "reuse_detected",
        Expired = "expired",
        Revoked = "revoked",
        Invalid = "invalid",
        Refused = "refused",
        Error = "error",
    }
}

label! {
    /// A step of a password reset by mail.
    ResetStage {
        Requested = "requested",
        Used = "used",
    }
}

label! {
    /// What happened to a letter.
    MailEvent {
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        Retrying = "retrying",
        Dropped = "dropped",
    }
}

label! {
    /// The kind of throttle counter that refused a request.
    ThrottleCounter {
        AccountAndClient = "account_and_client",
        Client = "client",
        Account = "account",
        Device = "device",
        AccountDevices = "account_devices",
        SignUp = "sign_up",
        Reset = "reset",
        PasskeyStart = "passkey_start",
        Mail = "mail",
        EmailChange = "email_change",
        Other = "other",
    }
}

impl ThrottleCounter {
    /// The kind of a throttle key, by its prefix (`acct-ip:…`, `ip:…`).
    pub fn of_key(key: &str) -> Self {
        match key.split(':').next().unwrap_or_default() {
            "acct-ip" => Self::AccountAndClient,
            "ip" => Self::Client,
            "acct" => Self::Account,
            "device" => Self::Device,
            "acct-devices" => Self::AccountDevices,
            "register" => Self::SignUp,
            "reset" => Self::Reset,
            "passkey-start" => Self::PasskeyStart,
            "mail" => Self::Mail,
            "change-email" => Self::EmailChange,
            _ => Self::Other,
        }
    }
}

pub const HTTP_REQUESTS: &str = "gatehouse_http_requests_total";
pub const HTTP_DURATION: &str = "gatehouse_http_request_duration_seconds";
pub const SIGN_INS: &str = "gatehouse_sign_in_attempts_total";
pub const SIGN_UPS: &str = "gatehouse_sign_ups_total";
pub const RESETS: &str = "gatehouse_password_resets_total";
pub const REFRESHES: &str = "gatehouse_refreshes_total";
pub const ACTIVE_SESSIONS: &str = "gatehouse_active_sessions";
pub const REVOCATIONS: &str = "gatehouse_revocations_total";
pub const THROTTLED: &str = "gatehouse_throttle_refusals_total";
pub const HASH_WAITING: &str = "gatehouse_password_queue_depth";
pub const HASH_RUNNING: &str = "gatehouse_password_checks_running";
pub const HASH_REFUSED: &str = "gatehouse_password_queue_refusals_total";
pub const PASSWORD_CHECK: &str = "gatehouse_password_check_duration_seconds";
pub const MAIL: &str = "gatehouse_mail_letters_total";
pub const MAIL_WAITING: &str = "gatehouse_mail_waiting";
pub const MAIL_OLDEST: &str = "gatehouse_mail_oldest_waiting_seconds";
pub const KEY_AGE: &str = "gatehouse_signing_key_age_seconds";
pub const KEY_ROTATION: &str = "gatehouse_signing_key_rotation_in_seconds";
pub const TOKEN_CACHE: &str = "gatehouse_token_cache_lookups_total";
pub const POOL_SIZE: &str = "gatehouse_db_pool_connections";
pub const POOL_IN_USE: &str = "gatehouse_db_pool_connections_in_use";
pub const POOL_WAIT: &str = "gatehouse_db_pool_acquire_wait_seconds";
pub const REVOCATION_LAG: &str = "gatehouse_revocation_pickup_lag_seconds";

/// Latency buckets for requests (0.5 ms to 10 s).
const REQUEST_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Buckets for a password check (argon2id: tens to hundreds of ms).
const PASSWORD_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Buckets for how late another instance's revocation is picked up.
const LAG_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. Should a program that
/// embeds gatehouse have installed another recorder first, this one is
/// never fed and the exposition stays empty (said at start-up).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = [
                (HTTP_DURATION, REQUEST_BUCKETS),
                (PASSWORD_CHECK, PASSWORD_BUCKETS),
                (REVOCATION_LAG, LAG_BUCKETS),
            ]
            .into_iter()
            .try_fold(PrometheusBuilder::new(), |b, (name, buckets)| {
                b.set_buckets_for_metric(Matcher::Full(name.into()), buckets)
            })
            .expect("bucket lists are not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

/// Help texts, and a zero for every fixed series, so each family is in the
/// exposition from the start (a rate over a series that appears only at
/// its first event misses that event).
fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by matched route and status class."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer a request, by matched route and status class."
    );
    describe_counter!(SIGN_INS, "Sign-in attempts, by method and outcome.");
    describe_counter!(SIGN_UPS, "Accounts created.");
    describe_counter!(RESETS, "Password resets by mail, asked for and used.");
    describe_counter!(REFRESHES, "Refresh-token exchanges, by outcome.");
    describe_gauge!(
        ACTIVE_SESSIONS,
        "Sessions neither ended nor expired, counted by the purge job."
    );
    describe_counter!(REVOCATIONS, "Sessions ended on this instance, by reason.");
    describe_counter!(
        THROTTLED,
        "Requests refused by a throttle counter, by the counter's kind."
    );
    describe_gauge!(
        HASH_WAITING,
        "Password checks and hashes waiting for a worker."
    );
    describe_gauge!(HASH_RUNNING, "Password checks and hashes running now.");
    describe_counter!(
        HASH_REFUSED,
        "Password checks refused with 429 because the queue was full."
    );
    describe_histogram!(
        PASSWORD_CHECK,
        Unit::Seconds,
        "Time to check a password (signing in or confirming one), queue included."
    );
    describe_counter!(MAIL, "Letters by what happened to them.");
    describe_gauge!(MAIL_WAITING, "Letters queued or waiting to be retried.");
    describe_gauge!(
        MAIL_OLDEST,
        "Age of the oldest letter not yet delivered (0 when none waits)."
    );
    describe_gauge!(KEY_AGE, "Time since the current signing key began to sign.");
    describe_gauge!(KEY_ROTATION, "Time until the current signing key is due to be replaced (NaN when automatic rotation is off).");
    describe_counter!(TOKEN_CACHE, "Access-token verifications answered from the cache (hit) or by checking the signature (miss).");
    describe_gauge!(POOL_SIZE, "Open database connections.");
    describe_gauge!(POOL_IN_USE, "Database connections in use.");
    describe_gauge!(
        POOL_WAIT,
        "Time the last scrape waited for a database connection."
    );
    describe_histogram!(
        REVOCATION_LAG,
        Unit::Seconds,
        "Time from another instance's revocation to this instance refusing the session."
    );

    for via in SignInVia::ALL {
        for outcome in SignInOutcome::ALL {
            counter!(SIGN_INS, "method" => via.as_str(), "outcome" => outcome.as_str()).absolute(0);
        }
    }
    counter!(SIGN_UPS).absolute(0);
    for stage in ResetStage::ALL {
        counter!(RESETS, "stage" => stage.as_str()).absolute(0);
    }
    for outcome in RefreshOutcome::ALL {
        counter!(REFRESHES, "outcome" => outcome.as_str()).absolute(0);
    }
    for reason in crate::vocab::RevokeReason::ALL {
        counter!(REVOCATIONS, "reason" => reason.as_str()).absolute(0);
    }
    for kind in ThrottleCounter::ALL {
        counter!(THROTTLED, "counter" => kind.as_str()).absolute(0);
    }
    counter!(HASH_REFUSED).absolute(0);
    for event in MailEvent::ALL {
        counter!(MAIL, "event" => event.as_str()).absolute(0);
    }
    for result in ["hit", "miss"] {
        counter!(TOKEN_CACHE, "result" => result).absolute(0);
    }
}

/// A request answered: `route` is the matched route's template.
pub fn http_request(route: &str, status: u16, took: Duration) {
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    counter!(HTTP_REQUESTS, "route" => route.to_owned(), "status" => class).increment(1);
    histogram!(HTTP_DURATION, "route" => route.to_owned(), "status" => class)
        .record(took.as_secs_f64());
}

pub fn sign_in(via: SignInVia, outcome: SignInOutcome) {
    counter!(SIGN_INS, "method" => via.as_str(), "outcome" => outcome.as_str()).increment(1);
}

pub fn sign_up() {
    counter!(SIGN_UPS).increment(1);
}

pub fn reset(stage: ResetStage) {
    counter!(RESETS, "stage" => stage.as_str()).increment(1);
}

pub fn refresh(outcome: RefreshOutcome) {
    counter!(REFRESHES, "outcome" => outcome.as_str()).increment(1);
}

pub fn active_sessions(count: u64) {
    gauge!(ACTIVE_SESSIONS).set(count as f64);
}

pub fn revoked(reason: crate::vocab::RevokeReason, sessions: usize) {
    counter!(REVOCATIONS, "reason" => reason.as_str()).increment(sessions as u64);
}

pub fn throttled(key: &str) {
    counter!(THROTTLED, "counter" => ThrottleCounter::of_key(key).as_str()).increment(1);
}

pub fn password_work(waiting: usize, running: usize) {
    gauge!(HASH_WAITING).set(waiting as f64);
    gauge!(HASH_RUNNING).set(running as f64);
}

pub fn password_queue_refused() {
    counter!(HASH_REFUSED).increment(1);
}

pub fn password_checked(took: Duration) {
    histogram!(PASSWORD_CHECK).record(took.as_secs_f64());
}

pub fn mail(event: MailEvent) {
    counter!(MAIL, "event" => event.as_str()).increment(1);
}

pub fn mail_backlog(waiting: usize, oldest: Option<Duration>) {
    gauge!(MAIL_WAITING).set(waiting as f64);
    gauge!(MAIL_OLDEST).set(oldest.map_or(0.0, |d| d.as_secs_f64()));
}

/// The current signing key's age, and the time to its rotation (`None`
/// when rotation is off).
pub fn signing_key(age: Duration, rotation_in: Option<Duration>) {
    gauge!(KEY_AGE).set(age.as_secs_f64());
    match rotation_in {
        Some(left) => gauge!(KEY_ROTATION).set(left.as_secs_f64()),
        None => gauge!(KEY_ROTATION).set(f64::NAN),
    }
}

pub fn token_cache(hit: bool) {
    counter!(TOKEN_CACHE, "result" => if hit { "hit" } else { "miss" }).increment(1);
}

pub fn pool(size: u32, idle: usize, acquire_wait: Option<Duration>) {
    gauge!(POOL_SIZE).set(f64::from(size));
    gauge!(POOL_IN_USE).set((size as usize).saturating_sub(idle) as f64);
    if let Some(wait) = acquire_wait {
        gauge!(POOL_WAIT).set(wait.as_secs_f64());
    }
}

pub fn revocation_lag(lag: Duration) {
    histogram!(REVOCATION_LAG).record(lag.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::ThrottleCounter;

    #[test]
    fn throttle_keys_are_named_by_their_kind_never_their_value() {
        assert_eq!(
            ThrottleCounter::of_key("acct-ip:a@example.com|192.0.2.1"),
            ThrottleCounter::AccountAndClient
        );
        assert_eq!(
            ThrottleCounter::of_key("ip:2001:db8:0:0::/64"),
            ThrottleCounter::Client
        );
        assert_eq!(
            ThrottleCounter::of_key("acct:a@example.com"),
            ThrottleCounter::Account
        );
        assert_eq!(
            ThrottleCounter::of_key("passkey-start:192.0.2.1"),
            ThrottleCounter::PasskeyStart
        );
        assert_eq!(
            ThrottleCounter::of_key("a@example.com"),
            ThrottleCounter::Other
        );
        assert_eq!(ThrottleCounter::of_key(""), ThrottleCounter::Other);
    }
}
