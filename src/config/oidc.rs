//! OpenID Connect providers: one set of `GATEHOUSE_OIDC_<NAME>_*` variables
//! each. `<NAME>` in lower case names the provider in paths
//! (`/auth/oidc/<name>/start`) and in session methods (`oidc:<name>`).

use super::ConfigError;
use std::fmt;

const PREFIX: &str = "GATEHOUSE_OIDC_";
const DEFAULT_SCOPES: &str = "openid email profile";

/// A client secret at a provider: kept like the master secret, its memory
/// wiped when dropped and never printed.
#[derive(Clone)]
pub struct ClientSecret(zeroize::Zeroizing<String>);

impl ClientSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// One configured provider.
#[derive(Clone, Debug)]
pub struct OidcProviderConfig {
    /// Lower case, `[a-z0-9]` (the `<NAME>` of the variables).
    pub name: String,
    /// `_ISSUER`: the issuer identifier, exactly as the provider's
    /// discovery document states it.
    pub issuer: String,
    /// `_CLIENT_ID`
    pub client_id: String,
    /// `_CLIENT_SECRET`
    pub client_secret: ClientSecret,
    /// `_LABEL`: the button says "Continue with <label>" (default: the
    /// name, capitalized).
    pub label: String,
    /// `_SCOPES` (default `openid email profile`; `openid` is always asked).
    pub scopes: Vec<String>,
    /// `_TRUST_MFA`: a provider sign-in whose `amr` reports a second factor
    /// skips gatehouse's own second step.
    pub trust_mfa: bool,
}

fn provider_error(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Provider {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Reads every provider whose `GATEHOUSE_OIDC_<NAME>_ISSUER` is among
/// `names`, sorted by name. A provider with an issuer but no client id or
/// secret, or an issuer that is not `https` (`http` only on loopback, for
/// development), is refused.
pub fn providers<'a>(
    names: impl IntoIterator<Item = &'a str>,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<OidcProviderConfig>, ConfigError> {
    let mut upper: Vec<&str> = names
        .into_iter()
        .filter_map(|var| var.strip_prefix(PREFIX)?.strip_suffix("_ISSUER"))
        .collect();
    upper.sort_unstable();
    upper.dedup();
    upper
        .into_iter()
        .filter(|name| get(&format!("{PREFIX}{name}_ISSUER")).is_some())
        .map(|name| provider(name, get))
        .collect()
}

fn provider(
    upper: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<OidcProviderConfig, ConfigError> {
    let var = |suffix: &str| format!("{PREFIX}{upper}_{suffix}");
    if upper.is_empty()
        || !upper
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(provider_error(
            &var("ISSUER"),
            "a provider's name is upper-case letters and digits only (GATEHOUSE_OIDC_GOOGLE_ISSUER)",
        ));
    }
    let issuer = get(&var("ISSUER")).unwrap_or_default().trim().to_owned();
    check_issuer(&issuer).map_err(|why| provider_error(&var("ISSUER"), why))?;
    let client_id = get(&var("CLIENT_ID"))
        .map(|v| v.trim().to_owned())
        .ok_or_else(|| provider_error(&var("CLIENT_ID"), "is required with _ISSUER"))?;
    let client_secret = get(&var("CLIENT_SECRET"))
        .map(|v| ClientSecret(zeroize::Zeroizing::new(v.trim().to_owned())))
        .ok_or_else(|| provider_error(&var("CLIENT_SECRET"), "is required with _ISSUER"))?;
    let name = upper.to_ascii_lowercase();
    // Without a label the button names the provider as `Google` for `GOOGLE`.
    let label = get(&var("LABEL"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| {
            let mut chars = name.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        });
    if label.chars().count() > 40 {
        return Err(provider_error(&var("LABEL"), "is at most 40 characters"));
    }
    let mut scopes: Vec<String> = get(&var("SCOPES"))
        .unwrap_or_else(|| DEFAULT_SCOPES.to_owned())
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".to_owned());
    }
    let trust_mfa = super::parse_bool_owned(&var("TRUST_MFA"), get(&var("TRUST_MFA")), false)?;
    Ok(OidcProviderConfig {
        name,
        issuer,
        client_id,
        client_secret,
        label,
        scopes,
        trust_mfa,
    })
}

/// An issuer is an `https` URL without query or fragment (OpenID Connect
/// Discovery 1.0 §2); plain `http` only on a loopback host.
fn check_issuer(issuer: &str) -> Result<(), String> {
    let url = url::Url::parse(issuer).map_err(|_| format!("`{issuer}` is not a URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an issuer has no query or fragment".into());
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "`{issuer}` must be an https URL (http only on a loopback host)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(vars: &[(&str, &str)]) -> Result<Vec<OidcProviderConfig>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        providers(map.keys().map(String::as_str), &|k: &str| {
            map.get(k).cloned()
        })
    }

    #[test]
    fn reads_each_provider_with_defaults() {
        let got = read(&[
            (
                "GATEHOUSE_OIDC_GOOGLE_ISSUER",
                "https://accounts.google.com",
            ),
            ("GATEHOUSE_OIDC_GOOGLE_CLIENT_ID", "id"),
            ("GATEHOUSE_OIDC_GOOGLE_CLIENT_SECRET", "s3cret"),
            ("GATEHOUSE_OIDC_GOOGLE_LABEL", "Google"),
            ("GATEHOUSE_OIDC_DEV_ISSUER", "http://127.0.0.1:9000"),
            ("GATEHOUSE_OIDC_DEV_CLIENT_ID", "id"),
            ("GATEHOUSE_OIDC_DEV_CLIENT_SECRET", "x"),
            ("GATEHOUSE_OIDC_DEV_SCOPES", "email"),
            ("GATEHOUSE_OIDC_DEV_TRUST_MFA", "true"),
        ])
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "dev");
        assert_eq!(got[0].label, "Dev");
        assert_eq!(got[0].scopes, ["openid", "email"]);
        assert!(got[0].trust_mfa);
        assert_eq!(got[1].name, "google");
        assert_eq!(got[1].label, "Google");
        assert_eq!(got[1].scopes, ["openid", "email", "profile"]);
        assert!(!got[1].trust_mfa);
        assert!(!format!("{:?}", got[1]).contains("s3cret"));
    }

    #[test]
    fn refuses_incomplete_or_insecure_providers() {
        let err = read(&[("GATEHOUSE_OIDC_X_ISSUER", "https://x.example")]).unwrap_err();
        assert!(
            err.to_string().contains("GATEHOUSE_OIDC_X_CLIENT_ID"),
            "{err}"
        );
        let err = read(&[
            ("GATEHOUSE_OIDC_X_ISSUER", "http://x.example"),
            ("GATEHOUSE_OIDC_X_CLIENT_ID", "id"),
            ("GATEHOUSE_OIDC_X_CLIENT_SECRET", "s"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        let err = read(&[
            ("GATEHOUSE_OIDC_my-idp_ISSUER", "https://x.example"),
            ("GATEHOUSE_OIDC_my-idp_CLIENT_ID", "id"),
            ("GATEHOUSE_OIDC_my-idp_CLIENT_SECRET", "s"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("upper-case"), "{err}");
    }
}
