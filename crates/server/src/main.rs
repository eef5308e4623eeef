//! The `switchyard` binary: a thin shim over [`switchyard_server::cli`].

#[tokio::main]
async fn main() {
    match switchyard_server::cli::main().await {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("error: {}", switchyard_server::cli::errors::render(&err));
            std::process::exit(1);
        }
    }
}
