//! The web UI: `/` (the single page) and `/assets/…` (its scripts and
//! styles), embedded into the binary at compile time — building or running
//! the server needs no Node.js and no files on disk.
//!
//! Every response carries a strict Content-Security-Policy (no inline
//! script or style, no third-party origin), `nosniff` and
//! `Referrer-Policy: no-referrer`. The page is `no-cache`; assets carry a
//! strong ETag (a hash of the embedded bytes) and a short `max-age`, and
//! the page links its entry points with `?v=<build hash>` so that a new
//! binary is picked up at once. Routing inside the UI uses the URL
//! fragment (`/#/projects/shop/flags/x`), so the server only needs `/`.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The CSP of every UI response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `Cache-Control` of assets: short, and revalidated with the ETag.
const ASSET_CACHE: &str = "public, max-age=300, must-revalidate";

const INDEX: &str = include_str!("../../../../web/index.html");

/// `(path under /assets/, content type, bytes)`.
macro_rules! assets {
    ($($path:literal => $ctype:expr),* $(,)?) => {
        &[$(($path, $ctype, include_bytes!(concat!("../../../../web/assets/", $path)) as &[u8])),*]
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// Every embedded asset. A test checks that this list and `web/assets/`
/// agree, so a new file cannot be forgotten.
static ASSETS: &[(&str, &str, &[u8])] = assets![
    "app.css" => CSS,
    "app.js" => JS,
    "api.js" => JS,
    "dom.js" => JS,
    "dialog.js" => JS,
    "diff.js" => JS,
    "kill.js" => JS,
    "blast.js" => JS,
    "revert.js" => JS,
    "live.js" => JS,
    "targeting.js" => JS,
    "prerequisites.js" => JS,
    "telemetry.js" => JS,
    "release.js" => JS,
    "schedule.js" => JS,
    "usage.js" => JS,
    "approvals.js" => JS,
    "envcolor.js" => JS,
    "archive.js" => JS,
    "project_archive.js" => JS,
    "icon.svg" => "image/svg+xml",
    "views/login.js" => JS,
    "views/flags.js" => JS,
    "views/flag.js" => JS,
    "views/audit.js" => JS,
    "views/fleet.js" => JS,
    "views/stale.js" => JS,
    "views/incident.js" => JS,
    "views/segments.js" => JS,
    "views/keys.js" => JS,
    "views/admin.js" => JS,
    "views/webhooks.js" => JS,
    "views/password.js" => JS,
    "views/settings.js" => JS,
    "views/members.js" => JS,
    "views/project_tokens.js" => JS,
    // uPlot, vendored by tools/vendor-uplot.sh (pinned version and hashes).
    "vendor/uPlot.iife.min.js" => JS,
    "vendor/uPlot.min.css" => CSS,
    "vendor/uPlot.LICENSE.txt" => "text/plain; charset=utf-8",
];

/// Precomputed responses: the page with its version stamp, and the ETags.
struct Built {
    index: String,
    etags: Vec<String>,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut all = Sha256::new();
        let etags = ASSETS
            .iter()
            .map(|(path, _, bytes)| {
                let digest = Sha256::digest(bytes);
                all.update(path.as_bytes());
                all.update(digest);
                format!("\"{}\"", &hex::encode(digest)[..20])
            })
            .collect();
        let version = hex::encode(all.finalize())[..12].to_string();
        Built { index: INDEX.replace("__VERSION__", &version), etags }
    })
}

/// Routes of the UI (merged into the application router).
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![("/", get(index)), ("/assets/{*path}", get(asset)), ("/favicon.ico", get(favicon))]
}

/// `/favicon.ico`, which browsers and tools ask for whatever the page links:
/// the UI's SVG icon (Chromium and Firefox go by the content type, not the
/// file name).
async fn favicon() -> Response {
    const ICON: &[u8] = include_bytes!("../../../../web/assets/icon.svg");
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
        (header::CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE)),
    ];
    secure((headers, ICON).into_response())
}

/// Adds the UI's security headers (CSP, `nosniff`, no referrer, no framing).
pub(crate) fn secure(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Development aid (debug builds only): with `SWITCHYARD_UI_DIR=web`, the
/// embedded files are read from that directory at each request, so UI
/// edits need no rebuild. Only names in [`ASSETS`] are ever read.
fn dev_dir() -> Option<std::path::PathBuf> {
    if !cfg!(debug_assertions) {
        return None;
    }
    std::env::var_os("SWITCHYARD_UI_DIR").filter(|d| !d.is_empty()).map(std::path::PathBuf::from)
}

async fn index() -> Response {
    let page = match dev_dir().and_then(|d| std::fs::read_to_string(d.join("index.html")).ok()) {
        Some(page) => page.replace("__VERSION__", "dev"),
        None => built().index.clone(),
    };
    secure(
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            page,
        )
            .into_response(),
    )
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|(p, _, _)| *p == path) else {
        let body = "not found\n";
        return secure(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
                body,
            )
                .into_response(),
        );
    };
    let (name, ctype, bytes) = ASSETS[i];
    if let Some(dir) = dev_dir()
        && let Ok(body) = std::fs::read(dir.join("assets").join(name))
    {
        let no_cache = HeaderValue::from_static("no-cache");
        return secure(
            ([(header::CONTENT_TYPE, HeaderValue::from_static(ctype)), (header::CACHE_CONTROL, no_cache)], body)
                .into_response(),
        );
    }
    cached(&built().etags[i], &headers, ctype, bytes)
}

/// An embedded asset with its `ETag`: `304` when `If-None-Match` names it.
fn cached(etag: &str, headers: &HeaderMap, ctype: &'static str, bytes: &'static [u8]) -> Response {
    let etag_value = HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("\"0\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let common = [(header::ETAG, etag_value), (header::CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE))];
    if fresh {
        return secure((StatusCode::NOT_MODIFIED, common).into_response());
    }
    secure((common, [(header::CONTENT_TYPE, HeaderValue::from_static(ctype))], bytes).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &std::path::Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                files(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    #[test]
    fn every_asset_file_is_embedded_and_typed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/assets");
        let mut on_disk = Vec::new();
        files(&dir, "", &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|(p, _, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "web/assets/ and the ASSETS table differ");
        for (path, ctype, _) in ASSETS {
            let want = if path.ends_with(".js") {
                JS
            } else if path.ends_with(".css") {
                CSS
            } else {
                ctype
            };
            assert_eq!(*ctype, want, "{path}");
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style_and_a_version() {
        let page = &built().index;
        assert!(!page.contains("__VERSION__"));
        assert!(!page.contains("style="), "inline style attribute");
        assert!(!page.contains("<style"), "inline style element");
        for (i, _) in page.match_indices("<script") {
            let tag = &page[i..i + page[i..].find('>').unwrap()];
            assert!(tag.contains("src="), "inline script: {tag}");
        }
        assert!(!page.contains("http://") && !page.contains("https://"), "external reference");
    }
}
