//! Serves the built PWA from `PARLEY_STATIC_DIR` with a SPA fallback.
//!
//! Caching: the build names assets by content hash, so they are immutable; the
//! entry points (`index.html`, `sw.js`, the manifest) must be revalidated on
//! every load or clients would never see an update.

use std::path::Path;

use actix_files::{Files, NamedFile};
use actix_web::dev::{ServiceRequest, ServiceResponse, fn_service};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, web};

pub(super) fn configure(cfg: &mut web::ServiceConfig, dir: &Path) {
    if !dir.join("index.html").is_file() {
        tracing::warn!(dir = %dir.display(), "PWA not built here; serving the API only (run `make run`)");
        cfg.default_service(web::to(not_built));
        return;
    }
    let index = dir.join("index.html");
    super::precompressed::configure(cfg, dir);
    cfg.service(
        Files::new("/", dir)
            .index_file("index.html")
            .use_etag(true)
            .use_last_modified(true)
            .prefer_utf8(true)
            .default_handler(fn_service(move |req: ServiceRequest| {
                let index = index.clone();
                async move {
                    let (req, _) = req.into_parts();
                    // Client-side routes get the app shell; missing assets a 404.
                    let looks_like_asset = req
                        .path()
                        .rsplit('/')
                        .next()
                        .is_some_and(|s| s.contains('.'));
                    if looks_like_asset {
                        return Ok(ServiceResponse::new(req, HttpResponse::NotFound().finish()));
                    }
                    let file = web::block(move || NamedFile::open(index)).await??;
                    let res = file.into_response(&req);
                    Ok(ServiceResponse::new(req, res))
                }
            })),
    );
}

async fn not_built() -> HttpResponse {
    HttpResponse::NotFound()
        .content_type("text/plain; charset=utf-8")
        .body("The Parley web app is not built on this relay (run `make run`).\n")
}

/// Cache-Control for a static path: revalidate entry points, cache hashed assets forever.
pub(super) fn cache_control_for(path: &str) -> HeaderValue {
    let name = path.rsplit('/').next().unwrap_or("");
    if is_content_hashed(name) {
        HeaderValue::from_static("public, max-age=31536000, immutable")
    } else {
        HeaderValue::from_static("no-cache")
    }
}

/// Hashed names (client/pwa/build.py) look like `parley-client-0123456789abcdef_bg.wasm`.
fn is_content_hashed(name: &str) -> bool {
    name.split(['-', '_', '.'])
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Sets Cache-Control on static responses that have none.
pub fn apply_cache_control(path: &str, headers: &mut header::HeaderMap) {
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, cache_control_for(path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_assets_are_immutable_entry_points_revalidate() {
        assert_eq!(
            cache_control_for("/parley-client-0123456789abcdef_bg.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control_for("/index.html"), "no-cache");
        assert_eq!(cache_control_for("/sw.js"), "no-cache");
        assert_eq!(cache_control_for("/"), "no-cache");
    }
}
