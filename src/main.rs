//! The `gatehouse` binary: serves the app, or runs an administrative command.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    gatehouse::cli::run().await
}
