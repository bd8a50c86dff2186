//! Reading a QR code from a camera frame, with `rqrr`. Here rather than on
//! the page: its Reed–Solomon tables alone are 64 KB that every first load
//! of the app would download, for a scan most visits never make; the
//! worker loads when the camera opens.

/// Decodes the first QR code in an RGBA frame of `width` × `height`.
pub fn decode_rgba(width: usize, height: usize, rgba: &[u8]) -> Option<String> {
    if rgba.len() < width.checked_mul(height)?.checked_mul(4)? {
        return None;
    }
    let luma = |x: usize, y: usize| {
        let i = (y * width + x) * 4;
        // ITU-R BT.601 weights, integer form.
        ((u32::from(rgba[i]) * 299 + u32::from(rgba[i + 1]) * 587 + u32::from(rgba[i + 2]) * 114)
            / 1000) as u8
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    img.detect_grids()
        .into_iter()
        .find_map(|g| g.decode().ok().map(|(_, content)| content))
}
