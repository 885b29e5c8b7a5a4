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

/// The modules every page imports (`web/shared/`): the patient monitor's vitals, drawn the same
/// way on the console page and the bedside panel. Each page's server serves them beside its own.
pub const SHARED: &[Asset] = &[
    crate::asset!("shared", "vitals.js", "js"),
    crate::asset!("shared", "vitals.css", "css"),
];

/// A route per asset, and per shared module; `/` serves the one at `/index.html`.
pub fn router<S: Clone + Send + Sync + 'static>(assets: &'static [Asset]) -> Router<S> {
    let mut router = Router::new();
    for asset in assets.iter().chain(SHARED) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{Body, to_bytes};
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn every_page_serves_the_shared_vitals_module_beside_its_own_files() {
        const PAGE: &[Asset] = &[Asset {
            path: "/index.html",
            mime: "text/html; charset=utf-8",
            body: b"<p>page</p>",
        }];
        for (path, mime, needle) in [
            (
                "/vitals.js",
                "text/javascript",
                "export function showVitals",
            ),
            ("/vitals.css", "text/css", ".sign.stale"),
            ("/", "text/html", "page"),
        ] {
            let app: Router = router(PAGE);
            let request = Request::get(path).body(Body::empty()).unwrap();
            let response = app.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let headers = response.headers().clone();
            assert!(
                headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with(mime)
            );
            assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CONTENT_POLICY);
            let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
            assert!(String::from_utf8_lossy(&body).contains(needle), "{path}");
        }
    }
}
