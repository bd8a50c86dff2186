//! QR codes: drawn as SVG with the `qrcode` crate; camera frames are read
//! by the worker (`parley_worker::qr`, `rqrr`), all in WASM: the camera
//! only hands over pixels.

use parley_worker::job::Request;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use wasm_bindgen::JsCast as _;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream};

use crate::worker::FileWorker;

/// An SVG document for `data` (dark modules on white, with a quiet zone).
pub(crate) fn svg(data: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(264, 264)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .quiet_zone(true)
            .build(),
    )
}

/// Why the camera could not be used for scanning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CameraError {
    /// No camera API here (not a secure context, or no window).
    #[error("This browser cannot use a camera here (it needs HTTPS).")]
    Unsupported,
    /// The user or the browser refused, or there is no camera.
    #[error("Camera access was refused or no camera was found.")]
    Refused,
    /// The browser failed to open the stream.
    #[error("The camera could not be opened.")]
    Failed,
}

impl crate::i18n::Localize for CameraError {
    fn text(&self) -> String {
        match self {
            Self::Unsupported => crate::tr!("camera-unsupported"),
            Self::Refused => crate::tr!("camera-refused"),
            Self::Failed => crate::tr!("camera-failed"),
        }
    }
}

/// Opens the camera (the back one on phones) into `video`.
pub(crate) async fn start_camera(video: &HtmlVideoElement) -> Result<MediaStream, CameraError> {
    let devices = web_sys::window()
        .ok_or(CameraError::Unsupported)?
        .navigator()
        .media_devices()
        .map_err(|_| CameraError::Unsupported)?;
    let constraints = web_sys::MediaStreamConstraints::new();
    constraints.set_video(&crate::js::obj(&[("facingMode", "environment".into())]));
    constraints.set_audio(&false.into());
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|_| CameraError::Failed)?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(|_| CameraError::Refused)?
        .dyn_into()
        .map_err(|_| CameraError::Failed)?;
    video.set_src_object(Some(&stream));
    video.set_muted(true);
    if let Ok(p) = video.play() {
        // A muted preview is allowed to play; if the browser still says no,
        // frames stay empty and the screen keeps asking for the code, with
        // paste and PIN right below.
        let _ = JsFuture::from(p).await;
    }
    Ok(stream)
}

/// Stops every track of the camera stream.
pub(crate) fn stop_camera(stream: &MediaStream) {
    for t in stream.get_tracks().iter() {
        if let Ok(t) = t.dyn_into::<web_sys::MediaStreamTrack>() {
            t.stop();
        }
    }
}

/// Grabs the current frame of `video` through `canvas`, and asks the
/// worker to read a code in it.
pub(crate) async fn scan_frame(
    worker: &FileWorker,
    video: &HtmlVideoElement,
    canvas: &HtmlCanvasElement,
) -> Option<String> {
    let (w, h) = (video.video_width(), video.video_height());
    if w == 0 || h == 0 {
        return None;
    }
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    ctx.draw_image_with_html_video_element(video, 0.0, 0.0)
        .ok()?;
    let frame = ctx
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .ok()?;
    // The pixels go to the worker as they are, never through this wasm's memory.
    let rgba = crate::js::get(&frame, "data").dyn_into().ok()?;
    let req = Request::Scan {
        width: w,
        height: h,
        rgba,
    };
    worker.run(req, |_, _| {}).await.ok()?.text
}
