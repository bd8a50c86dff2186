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
