//! `switchyard health`: the container healthcheck (the image has no curl).

/// The server `switchyard health` probes: `--server` or
/// SWITCHYARD_HEALTH_URL (a container's probe of itself when SWITCHYARD_URL
/// names a balancer), else SWITCHYARD_URL like every other command (an
/// empty one counts as unset), else the default listen address.
pub fn url(server: Option<String>) -> String {
    server
        .or_else(|| std::env::var("SWITCHYARD_URL").ok().filter(|url| !url.trim().is_empty()))
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_string())
}

/// `switchyard health`: one GET of `/readyz`; prints why when not ready.
pub async fn health(server: &str, timeout: std::time::Duration) -> anyhow::Result<i32> {
    let client = crate::client::Client::with_timeout(server, timeout)?;
    let url = client.url("/readyz");
    match client.readiness().await {
        Ok(reply) if reply.status.is_success() => {
            println!("ready: {url}");
            Ok(0)
        }
        Ok(crate::client::Reply { status, body }) => {
            let body = body.as_str().map_or_else(|| body.to_string(), str::to_string);
            eprintln!("not ready: {url} answered {status}: {}", body.trim());
            Ok(1)
        }
        Err(crate::client::Error::Transport { source, .. }) => {
            eprintln!("not ready: {url}: {source}");
            Ok(1)
        }
        Err(e) => {
            eprintln!("not ready: {url}: {e}");
            Ok(1)
        }
    }
}
