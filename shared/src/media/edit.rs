//! Edits a person makes to an image before sending it (issue 18): crop,
//! rotate, and blur or pixelate a region (faces, addresses). They work on
//! decoded pixels (`image` crate) and are applied in the order given; the
//! file worker runs them, and the preview shows the same result.
#![deny(clippy::indexing_slicing)]

use image::{RgbaImage, imageops};
use serde::{Deserialize, Serialize};

/// Most edits in one image.
pub const MAX_EDITS: usize = 32;
/// Largest blur radius, in pixels.
pub const MAX_RADIUS: u32 = 200;
/// Smallest and largest pixelation block, in pixels.
pub const BLOCKS: core::ops::RangeInclusive<u32> = 2..=256;

/// A rectangle in the image as it is when the edit applies (after earlier
/// crops and rotations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width (≥ 1).
    pub width: u32,
    /// Height (≥ 1).
    pub height: u32,
}

/// A clockwise turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Turn {
    /// 90°.
    Quarter,
    /// 180°.
    Half,
    /// 270°.
    ThreeQuarters,
}

/// One edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Edit {
    /// Keep only this area.
    Crop(Area),
    /// Turn the image.
    Rotate(Turn),
    /// Blur this area (a box blur run three times: close to a Gaussian).
    Blur {
        /// Where.
        area: Area,
        /// Radius in pixels.
        radius: u32,
    },
    /// Replace this area by blocks of their average colour.
    Pixelate {
        /// Where.
        area: Area,
        /// Block side in pixels.
        block: u32,
    },
}

/// Why edits could not be applied (nothing is sent then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Not an image format the editor handles (JPEG, PNG, WebP).
    #[error("this kind of image cannot be edited")]
    Unsupported,
    /// The image does not decode.
    #[error("the image could not be read")]
    Decode,
    /// Larger than the editor handles.
    #[error("the image is too large to edit")]
    TooLarge,
    /// An area outside the image, empty, or a parameter out of range.
    #[error("an edit does not fit the image")]
    BadEdit,
    /// Encoding the result failed.
    #[error("the edited image could not be written")]
    Encode,
}

/// A rectangle a person drew on a preview, in fractions of the shown
/// image's width and height (0.0–1.0), so it does not depend on the size
/// the preview happens to be drawn at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selection {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl Selection {
    /// The middle half of the image: where a selection starts before the
    /// person moves it (with a pointer or the arrow keys).
    pub const MIDDLE: Self = Self {
        left: 0.25,
        top: 0.25,
        width: 0.5,
        height: 0.5,
    };

    /// Smallest side of a selection, as a fraction.
    pub const MIN_SIDE: f64 = 0.02;

    /// The rectangle between two points (in either order), clamped to the image.
    pub fn between(a: (f64, f64), b: (f64, f64)) -> Self {
        let (x0, x1) = (a.0.min(b.0).clamp(0.0, 1.0), a.0.max(b.0).clamp(0.0, 1.0));
        let (y0, y1) = (a.1.min(b.1).clamp(0.0, 1.0), a.1.max(b.1).clamp(0.0, 1.0));
        Self {
            left: x0,
            top: y0,
            width: x1 - x0,
            height: y1 - y0,
        }
    }

    /// Moved by (`dx`, `dy`), staying inside the image.
    pub fn moved(self, dx: f64, dy: f64) -> Self {
        Self {
            left: within(self.left + dx, 0.0, 1.0 - self.width),
            top: within(self.top + dy, 0.0, 1.0 - self.height),
            ..self
        }
    }

    /// Grown or shrunk by (`dw`, `dh`) from its top-left corner, staying
    /// inside the image and at least [`Self::MIN_SIDE`].
    pub fn resized(self, dw: f64, dh: f64) -> Self {
        Self {
            width: within(self.width + dw, Self::MIN_SIDE, 1.0 - self.left),
            height: within(self.height + dh, Self::MIN_SIDE, 1.0 - self.top),
            ..self
        }
    }

    /// Large enough to act on (a click is not a selection).
    pub fn is_usable(&self) -> bool {
        self.width >= Self::MIN_SIDE && self.height >= Self::MIN_SIDE
    }

    /// The pixels it covers in an image of `width`×`height`: edges rounded
    /// to the nearest pixel, at least one pixel, never outside the image.
    /// `None` for an empty image or a selection that is not finite.
    pub fn to_area(self, width: u32, height: u32) -> Option<Area> {
        let finite = [self.left, self.top, self.width, self.height]
            .iter()
            .all(|v| v.is_finite());
        if !finite || width == 0 || height == 0 {
            return None;
        }
        // Fractions are clamped to 0..=1 first, so the products fit in u32.
        let px = |f: f64, side: u32| (f.clamp(0.0, 1.0) * f64::from(side)).round() as u32;
        let x = px(self.left, width).min(width - 1);
        let y = px(self.top, height).min(height - 1);
        let right = px(self.left + self.width, width).clamp(x + 1, width);
        let bottom = px(self.top + self.height, height).clamp(y + 1, height);
        Some(Area {
            x,
            y,
            width: right - x,
            height: bottom - y,
        })
    }
}

/// `v` brought into `lo..=hi`; `lo` wins when the range is empty (unlike
/// `f64::clamp`, which panics).
fn within(v: f64, lo: f64, hi: f64) -> f64 {
    v.min(hi).max(lo)
}

impl Edit {
    /// A blur of `area` strong enough that faces and writing in it cannot
    /// be made out: the radius grows with the area (a quarter of its
    /// shorter side), so a small label and a large face are both hidden.
    pub fn hiding_blur(area: Area) -> Self {
        Self::Blur {
            area,
            radius: (area.width.min(area.height) / 4).clamp(1, MAX_RADIUS),
        }
    }

    /// Pixelation of `area` in about eight blocks along its longer side.
    pub fn hiding_pixelation(area: Area) -> Self {
        Self::Pixelate {
            area,
            block: (area.width.max(area.height) / 8).clamp(*BLOCKS.start(), *BLOCKS.end()),
        }
    }
}

impl Area {
    fn check(&self, img: &RgbaImage) -> Result<(), EditError> {
        let fits =
            |o: u32, len: u32, max: u32| len > 0 && o.checked_add(len).is_some_and(|e| e <= max);
        if fits(self.x, self.width, img.width()) && fits(self.y, self.height, img.height()) {
            Ok(())
        } else {
            Err(EditError::BadEdit)
        }
    }
}

/// Applies `edits` in order.
pub fn apply(mut img: RgbaImage, edits: &[Edit]) -> Result<RgbaImage, EditError> {
    if edits.len() > MAX_EDITS {
        return Err(EditError::BadEdit);
    }
    for e in edits {
        img = match *e {
            Edit::Crop(a) => {
                a.check(&img)?;
                imageops::crop_imm(&img, a.x, a.y, a.width, a.height).to_image()
            }
            Edit::Rotate(Turn::Quarter) => imageops::rotate90(&img),
            Edit::Rotate(Turn::Half) => imageops::rotate180(&img),
            Edit::Rotate(Turn::ThreeQuarters) => imageops::rotate270(&img),
            Edit::Blur { area, radius } => {
                area.check(&img)?;
                if radius == 0 || radius > MAX_RADIUS {
                    return Err(EditError::BadEdit);
                }
                let part =
                    imageops::crop_imm(&img, area.x, area.y, area.width, area.height).to_image();
                let blurred = box_blur(part, radius);
                imageops::replace(&mut img, &blurred, area.x.into(), area.y.into());
                img
            }
            Edit::Pixelate { area, block } => {
                area.check(&img)?;
                if !BLOCKS.contains(&block) {
                    return Err(EditError::BadEdit);
                }
                pixelate(&mut img, area, block);
                img
            }
        };
    }
    Ok(img)
}

/// Three passes of a horizontal and vertical box blur (edges clamped), the
/// usual fast stand-in for a Gaussian of σ ≈ radius.
fn box_blur(mut img: RgbaImage, radius: u32) -> RgbaImage {
    let (w, h) = img.dimensions();
    for _ in 0..3 {
        for y in 0..h {
            let line: Vec<[u8; 4]> = (0..w).map(|x| img.get_pixel(x, y).0).collect();
            for (x, px) in blur_line(&line, radius).into_iter().enumerate() {
                img.put_pixel(x as u32, y, image::Rgba(px));
            }
        }
        for x in 0..w {
            let line: Vec<[u8; 4]> = (0..h).map(|y| img.get_pixel(x, y).0).collect();
            for (y, px) in blur_line(&line, radius).into_iter().enumerate() {
                img.put_pixel(x, y as u32, image::Rgba(px));
            }
        }
    }
    img
}

/// A running-sum box filter over one row or column.
fn blur_line(line: &[[u8; 4]], radius: u32) -> Vec<[u8; 4]> {
    let n = line.len() as i64;
    let r = i64::from(radius);
    let at = |i: i64| {
        line.get(i.clamp(0, n - 1) as usize)
            .copied()
            .unwrap_or_default()
    };
    let mut sum = [0i64; 4];
    for i in -r..=r {
        for (s, v) in sum.iter_mut().zip(at(i)) {
            *s += i64::from(v);
        }
    }
    let width = 2 * r + 1;
    let mut out = Vec::with_capacity(line.len());
    for i in 0..n {
        // An average of u8 values fits a u8.
        out.push(sum.map(|s| (s / width) as u8));
        let (add, drop) = (at(i + r + 1), at(i - r));
        for ((s, a), d) in sum.iter_mut().zip(add).zip(drop) {
            *s += i64::from(a) - i64::from(d);
        }
    }
    out
}

fn pixelate(img: &mut RgbaImage, a: Area, block: u32) {
    let mut by = a.y;
    while by < a.y + a.height {
        let bh = block.min(a.y + a.height - by);
        let mut bx = a.x;
        while bx < a.x + a.width {
            let bw = block.min(a.x + a.width - bx);
            let mut sum = [0u64; 4];
            for y in by..by + bh {
                for x in bx..bx + bw {
                    for (s, v) in sum.iter_mut().zip(img.get_pixel(x, y).0) {
                        *s += u64::from(v);
                    }
                }
            }
            let count = u64::from(bw) * u64::from(bh);
            let avg = sum.map(|s| (s / count) as u8);
            for y in by..by + bh {
                for x in bx..bx + bw {
                    img.put_pixel(x, y, image::Rgba(avg));
                }
            }
            bx += bw;
        }
        by += bh;
    }
}
