//! Readable device names ("Chrome on Linux") from user-agent strings, with
//! woothee, whose patterns are compiled in (no data file, works offline).

const UNKNOWN: &str = "UNKNOWN";

/// "Browser on OS", or the client's product name for non-browser clients.
pub fn device_name(user_agent: &str) -> String {
    let user_agent = user_agent.trim();
    if user_agent.is_empty() {
        return "Unknown device".to_owned();
    }
    let parser = woothee::parser::Parser::new();
    // Only browsers get "browser on OS"; woothee files tools such as curl
    // under generic names ("HTTP Library"), so those fall through.
    let browser_like =
        |category: &str| matches!(category, "pc" | "smartphone" | "mobilephone" | "appliance");
    if let Some(found) = parser
        .parse(user_agent)
        .filter(|f| browser_like(f.category) || f.category == UNKNOWN)
    {
        let name = if user_agent.contains("HeadlessChrome") {
            Some("Headless Chrome")
        } else {
            (found.name != UNKNOWN).then_some(found.name)
        };
        let os = (found.os != UNKNOWN).then_some(found.os);
        match (name, os) {
            (Some(name), Some(os)) => return format!("{name} on {os}"),
            (Some(name), None) => return name.to_owned(),
            (None, Some(os)) => return format!("Unknown browser on {os}"),
            (None, None) => {}
        }
    }
    // e.g. "curl/8.5.0" → "curl"; keep it short and printable.
    let product: String = user_agent
        .split(['/', ' '])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect();
    if product.is_empty() {
        "Unknown device".to_owned()
    } else {
        product
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_common_browsers_and_clients() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(device_name(chrome), "Chrome on Linux");
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(device_name(firefox), "Firefox on Windows 10");
        assert_eq!(device_name("curl/8.5.0"), "curl");
        let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        assert_eq!(device_name(headless), "Headless Chrome on Linux");
        assert_eq!(device_name(""), "Unknown device");
    }
}
