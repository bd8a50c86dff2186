//! Precompressed copies of the PWA's files: the build writes `name.br` and
//! `name.gz` next to each compressible file (`client/pwa/shell.py`). A
//! GET or HEAD for `name` that accepts one of them gets it as is, with
//! `Content-Encoding`, the type of `name` and `Vary: Accept-Encoding`
//! (brotli at its highest quality is a fifth smaller than the gzip the
//! `Compress` middleware makes on the fly, and costs nothing per request).
//! Anything else falls through to the plain files, as does a file changed
//! after its copies were made (a copy older than its file is stale).

use std::path::{Path, PathBuf};

use actix_files::NamedFile;
use actix_web::guard::{GuardContext, fn_guard};
use actix_web::http::Method;
use actix_web::http::header::{self, AcceptEncoding, ContentEncoding, Encoding, HeaderValue};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};

/// The copy chosen for a request (put in its extensions by the guard).
#[derive(Debug, Clone)]
struct Variant {
    /// The compressed copy.
    path: PathBuf,
    /// The file it is a copy of (its name gives the type).
    original: PathBuf,
    encoding: ContentEncoding,
}

/// Encodings with a copy on disk, best first, and their file suffix.
const ENCODINGS: [(ContentEncoding, &str); 2] = [
    (ContentEncoding::Brotli, ".br"),
    (ContentEncoding::Gzip, ".gz"),
];

/// The file under `dir` a request path names (`/` is `index.html`). Only
/// the build's plain names: no `..`, no hidden files, no escapes; anything
/// else is left to `Files`.
fn file_for(dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix('/')?;
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let plain = rel.split('/').all(|seg| {
        !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    let file = dir.join(rel);
    (plain && file.is_file()).then_some(file)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn encoding_token(e: ContentEncoding) -> Encoding {
    match e {
        ContentEncoding::Brotli => Encoding::brotli(),
        _ => Encoding::gzip(),
    }
}

/// The copy this request should get, if any.
fn choose(dir: &Path, ctx: &GuardContext<'_>) -> Option<Variant> {
    if !matches!(ctx.head().method, Method::GET | Method::HEAD) {
        return None;
    }
    let original = file_for(dir, ctx.head().uri.path())?;
    let accept = ctx.header::<AcceptEncoding>()?;
    let changed = modified(&original)?;
    let copies: Vec<(ContentEncoding, PathBuf)> = ENCODINGS
        .iter()
        .map(|(e, suffix)| (*e, with_suffix(&original, suffix)))
        .filter(|(_, p)| p.is_file() && modified(p).is_some_and(|t| t >= changed))
        .collect();
    let mut offered: Vec<Encoding> = copies.iter().map(|(e, _)| encoding_token(*e)).collect();
    offered.push(Encoding::identity());
    let chosen = accept.negotiate(offered.iter())?;
    let (encoding, path) = copies
        .into_iter()
        .find(|(e, _)| encoding_token(*e) == chosen)?;
    Some(Variant {
        path,
        original,
        encoding,
    })
}

/// Registers the precompressed files of `dir` (before the plain ones).
pub(super) fn configure(cfg: &mut web::ServiceConfig, dir: &Path) {
    let dir = dir.to_path_buf();
    cfg.service(
        web::resource("/{tail:.*}")
            .guard(fn_guard(move |ctx| match choose(&dir, ctx) {
                Some(v) => {
                    ctx.req_data_mut().insert(v);
                    true
                }
                None => false,
            }))
            .to(serve),
    );
}

async fn serve(req: HttpRequest) -> actix_web::Result<HttpResponse> {
    let Some(v) = req.extensions().get::<Variant>().cloned() else {
        return Ok(HttpResponse::NotFound().finish());
    };
    let file = web::block(move || -> std::io::Result<NamedFile> {
        let f = std::fs::File::open(&v.path)?;
        Ok(NamedFile::from_file(f, &v.original)?
            .set_content_encoding(v.encoding)
            .use_etag(true)
            .use_last_modified(true)
            .prefer_utf8(true))
    })
    .await??;
    let mut res = file.into_response(&req);
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_existing_files() {
        let dir = std::env::temp_dir().join(format!("parley-precompressed-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("icons")).unwrap();
        std::fs::write(dir.join("index.html"), "x").unwrap();
        std::fs::write(dir.join("icons/a.svg"), "x").unwrap();
        assert_eq!(file_for(&dir, "/"), Some(dir.join("index.html")));
        assert_eq!(
            file_for(&dir, "/icons/a.svg"),
            Some(dir.join("icons/a.svg"))
        );
        for bad in [
            "/../index.html",
            "/icons/../index.html",
            "/.hidden",
            "/%2e%2e/x",
            "//index.html",
            "/missing.js",
            "/icons",
        ] {
            assert_eq!(file_for(&dir, bad), None, "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
