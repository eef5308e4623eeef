//! The `switchyard` binary: a thin shim over [`switchyard_server::cli`].

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    switchyard_server::cli::main().await
}
