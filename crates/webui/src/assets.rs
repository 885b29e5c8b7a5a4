//! Files of a page embedded in the binary (`include_bytes!` at the page's crate), served with
//! their type and a content policy that lets the page load nothing from anywhere else.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// One embedded file: where it is served, its media type, its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub path: &'static str,
    pub mime: &'static str,
    pub body: &'static [u8],
}

/// Scripts, styles, images and sockets from this origin only.
pub const CONTENT_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// A route per asset; `/` serves the one at `/index.html`.
pub fn router<S: Clone + Send + Sync + 'static>(assets: &'static [Asset]) -> Router<S> {
    let mut router = Router::new();
    for asset in assets {
        let serve = move || async move {
            (
                [
                    (header::CONTENT_TYPE, asset.mime),
                    (header::CONTENT_SECURITY_POLICY, CONTENT_POLICY),
                    (header::CACHE_CONTROL, "no-store"),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                asset.body,
            )
                .into_response()
        };
        if asset.path == "/index.html" {
            router = router.route("/", get(serve));
        }
        router = router.route(asset.path, get(serve));
    }
    router
}

/// The media type for a file name's extension.
pub const fn mime_of(ext: &str) -> &'static str {
    match ext.as_bytes() {
        b"html" => "text/html; charset=utf-8",
        b"js" => "text/javascript; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        b"svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// An embedded asset from a path under the crate's `web/<page>/` directory.
#[macro_export]
macro_rules! asset {
    ($dir:literal, $file:literal, $ext:literal) => {
        $crate::Asset {
            path: concat!("/", $file),
            mime: $crate::assets::mime_of($ext),
            body: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../web/",
                $dir,
                "/",
                $file
            )),
        }
    };
}
