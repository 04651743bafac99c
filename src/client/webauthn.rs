//! Passkeys in the browser. The server's WebAuthn options travel as JSON
//! and become the browser's through `PublicKeyCredential.parse…FromJSON`;
//! the browser's answer goes back as its own JSON (`toJSON`). Nothing here
//! decides anything: the server checks every answer.

use js_sys::{Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn window() -> web_sys::Window {
    web_sys::window().expect("a browser window")
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
}

fn call_static(name: &str, arg: &JsValue) -> Result<JsValue, JsValue> {
    let class = get(&window(), "PublicKeyCredential")?;
    let method: Function = get(&class, name)?.dyn_into()?;
    method.call1(&class, arg)
}

/// Whether this browser can use passkeys the way gatehouse asks for them,
/// here: WebAuthn refuses a page opened by IP address.
pub fn supported() -> bool {
    let host = window().location().hostname().unwrap_or_default();
    let by_address = host.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[');
    !by_address
        && get(&window(), "PublicKeyCredential")
            .ok()
            .filter(|class| !class.is_undefined())
            .and_then(|class| get(&class, "parseRequestOptionsFromJSON").ok())
            .is_some_and(|f| f.is_function())
}

/// Whether the browser offers passkeys in the email field's autofill.
pub async fn autofill_available() -> bool {
    if !supported() {
        return false;
    }
    let Ok(promise) = call_static("isConditionalMediationAvailable", &JsValue::UNDEFINED) else {
        return false;
    };
    match promise.dyn_into::<Promise>() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// What went wrong, for a person.
fn explain(err: JsValue) -> String {
    let name = get(&err, "name")
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" => "The passkey request was cancelled or timed out.".into(),
        "InvalidStateError" => "This device already has a passkey for your account.".into(),
        "AbortError" => "The passkey request was stopped.".into(),
        "SecurityError" => "Passkeys are not allowed on this address.".into(),
        _ => "This browser could not use a passkey.".into(),
    }
}

/// Runs `navigator.credentials.<method>(options)`; the credential as JSON.
async fn ceremony(method: &str, options: &Object) -> Result<String, String> {
    let run = async {
        let credentials = get(&window().navigator(), "credentials")?;
        let call: Function = get(&credentials, method)?.dyn_into()?;
        let promise: Promise = call.call1(&credentials, options)?.dyn_into()?;
        let credential = JsFuture::from(promise).await?;
        if credential.is_null() {
            return Err(JsValue::from_str("no credential"));
        }
        JSON::stringify(&credential)
    };
    run.await
        .map(|s| s.as_string().unwrap_or_default())
        .map_err(explain)
}

fn public_key(options: &serde_json::Value, parse: &str) -> Result<JsValue, String> {
    let json = JSON::parse(&options["publicKey"].to_string())
        .map_err(|_| "The server's passkey options are malformed.".to_owned())?;
    call_static(parse, &json).map_err(explain)
}

/// Creates a passkey with the server's creation options.
pub async fn create(options: &serde_json::Value) -> Result<String, String> {
    if !supported() {
        return Err("This browser does not support passkeys.".into());
    }
    let request = Object::new();
    let key = public_key(options, "parseCreationOptionsFromJSON")?;
    Reflect::set(&request, &"publicKey".into(), &key).map_err(explain)?;
    ceremony("create", &request).await
}

/// Asks for a passkey with the server's request options: in the email
/// field's autofill when `autofill` carries an abort signal, else at once.
pub async fn sign_in(
    options: &serde_json::Value,
    autofill: Option<&web_sys::AbortSignal>,
) -> Result<String, String> {
    if !supported() {
        return Err("This browser does not support passkeys.".into());
    }
    let request = Object::new();
    let key = public_key(options, "parseRequestOptionsFromJSON")?;
    Reflect::set(&request, &"publicKey".into(), &key).map_err(explain)?;
    if let Some(signal) = autofill {
        Reflect::set(&request, &"mediation".into(), &"conditional".into()).map_err(explain)?;
        Reflect::set(&request, &"signal".into(), signal).map_err(explain)?;
    }
    ceremony("get", &request).await
}
