//! How log lines are written: `GATEHOUSE_LOG_FORMAT`.

use super::{invalid, ConfigError};

/// `text` (default): lines for a person at a terminal. `json`: one JSON
/// object per line for a log shipper, and one line per answered request
/// (its id, method, route, status and latency).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// Reads the variable's value; unset or blank is `text`.
    pub fn parse(value: Option<&str>) -> Result<Self, ConfigError> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(Self::Text),
            Some("json") => Ok(Self::Json),
            Some(other) => Err(invalid(
                "GATEHOUSE_LOG_FORMAT",
                format!("must be `text` or `json`, not `{other}`"),
            )),
        }
    }

    /// From the process environment (after `.env`).
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::parse(std::env::var("GATEHOUSE_LOG_FORMAT").ok().as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_unless_json_and_nothing_else() {
        assert_eq!(LogFormat::parse(None).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some(" ")).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("text")).unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(Some("json")).unwrap(), LogFormat::Json);
        let err = LogFormat::parse(Some("yaml")).unwrap_err().to_string();
        assert!(
            err.contains("GATEHOUSE_LOG_FORMAT") && err.contains("yaml"),
            "{err}"
        );
    }
}
