//! "Download my data" as the browser reaches it.

use crate::{error::AppError, export::DataExport};
use leptos::prelude::*;

/// The signed-in person's data as one JSON document, answered as a file to
/// save (`gatehouse-data.json`), never cached (OWASP ASVS 4.0 V8.2.1). Takes
/// a recent sign-in: `401 reauth_required` without one. A form post without
/// JavaScript gets the file too (the form adapter passes downloads through).
#[server(endpoint = "export_data", prefix = "/api")]
pub async fn export_data() -> Result<DataExport, AppError> {
    use crate::http::server_fn::*;
    run(async move {
        let me = authed()?;
        let data = state().account.export_own(&me).await?;
        attachment(crate::export::FILE_NAME);
        Ok(data)
    })
    .await
}
