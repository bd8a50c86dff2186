//! The image filter pipeline (issue 18): metadata first, then the user's
//! edits on decoded pixels, re-encoded only when edited. Real PNG, JPEG and
//! WebP files made and read back with the `image` crate.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Cursor;

use image::{ImageFormat, Rgba, RgbaImage};
use parley_shared::media::edit::{Area, Edit, EditError, Turn};
use parley_shared::media::pipeline::{self, Filter};

/// A busy image: every pixel differs from its neighbours.
fn checkerboard(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        if (x + y) % 2 == 0 {
            Rgba([250, 20, 20, 255])
        } else {
            Rgba([10, 240, 10, 255])
        }
    })
}

fn encode(img: &RgbaImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => image::DynamicImage::ImageRgba8(img.clone())
            .into_rgb8()
            .write_to(&mut Cursor::new(&mut out), format)
            .unwrap(),
        _ => img.write_to(&mut Cursor::new(&mut out), format).unwrap(),
    }
    out
}

fn decode(bytes: &[u8]) -> RgbaImage {
    image::load_from_memory(bytes).unwrap().into_rgba8()
}

fn spread(img: &RgbaImage, a: Area) -> u32 {
    let mut lo = 255u8;
    let mut hi = 0u8;
    for y in a.y..a.y + a.height {
        for x in a.x..a.x + a.width {
            let g = img.get_pixel(x, y).0[1];
            lo = lo.min(g);
            hi = hi.max(g);
        }
    }
    u32::from(hi - lo)
}

/// A PNG with a text chunk (where cameras and editors put metadata).
fn png_with_text(img: &RgbaImage) -> Vec<u8> {
    use img_parts::png::{Png, PngChunk};
    let mut png = Png::from_bytes(encode(img, ImageFormat::Png).into()).unwrap();
    let text = PngChunk::new(*b"tEXt", b"Location\0Home street 1".to_vec().into());
    png.chunks_mut().insert(1, text);
    let mut out = Vec::new();
    png.encoder().write_to(&mut out).unwrap();
    out
}

#[test]
fn crop_and_blur_are_applied_and_the_rest_is_untouched() {
    let original = checkerboard(64, 64);
    let file = png_with_text(&original);
    assert!(file.windows(8).any(|w| w == b"Location"));
    let blur = Area {
        x: 0,
        y: 0,
        width: 24,
        height: 24,
    };
    let edits = [
        Edit::Crop(Area {
            x: 8,
            y: 8,
            width: 48,
            height: 48,
        }),
        Edit::Blur {
            area: blur,
            radius: 6,
        },
    ];
    let out = pipeline::prepare("image/png", &file, &edits)
        .unwrap()
        .expect("changed");
    assert!(out.edited && out.metadata_removed);
    assert!(!out.bytes.windows(8).any(|w| w == b"Location"));
    let img = decode(&out.bytes);
    assert_eq!(img.dimensions(), (48, 48));
    // The blurred corner lost the checkerboard (green spread 230 before).
    assert!(spread(&img, blur) < 40, "spread {}", spread(&img, blur));
    // Outside it, PNG keeps every pixel exactly (shifted by the crop).
    for (x, y) in [(30, 30), (47, 0), (0, 47), (47, 47), (25, 10)] {
        assert_eq!(img.get_pixel(x, y), original.get_pixel(x + 8, y + 8));
    }
}

#[test]
fn pixelate_makes_uniform_blocks() {
    let file = encode(&checkerboard(40, 40), ImageFormat::Png);
    let area = Area {
        x: 4,
        y: 4,
        width: 32,
        height: 32,
    };
    let out = pipeline::prepare("image/png", &file, &[Edit::Pixelate { area, block: 8 }])
        .unwrap()
        .unwrap();
    let img = decode(&out.bytes);
    for by in 0..4 {
        for bx in 0..4 {
            let a = Area {
                x: 4 + bx * 8,
                y: 4 + by * 8,
                width: 8,
                height: 8,
            };
            assert_eq!(spread(&img, a), 0, "block {bx},{by}");
        }
    }
    assert_eq!(img.get_pixel(0, 0), &Rgba([250, 20, 20, 255]));
}

#[test]
fn rotation_turns_clockwise_and_webp_stays_webp() {
    let mut img = RgbaImage::from_pixel(30, 10, Rgba([0, 0, 0, 255]));
    img.put_pixel(0, 0, Rgba([255, 255, 255, 255]));
    let file = encode(&img, ImageFormat::WebP);
    let out = pipeline::prepare("image/webp", &file, &[Edit::Rotate(Turn::Quarter)])
        .unwrap()
        .unwrap();
    assert_eq!(image::guess_format(&out.bytes).unwrap(), ImageFormat::WebP);
    let turned = decode(&out.bytes);
    assert_eq!(turned.dimensions(), (10, 30));
    // The top-left corner goes to the top-right.
    assert_eq!(turned.get_pixel(9, 0), &Rgba([255, 255, 255, 255]));
}

/// A JPEG whose EXIF says "rotate 90° to show" and holds a GPS-like tag.
fn jpeg_with_orientation_6() -> Vec<u8> {
    use img_parts::jpeg::{Jpeg, JpegSegment, markers};
    let img = RgbaImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            Rgba([255, 255, 255, 255])
        } else {
            Rgba([0, 0, 0, 255])
        }
    });
    let mut jpeg = Jpeg::from_bytes(encode(&img, ImageFormat::Jpeg).into()).unwrap();
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend_from_slice(&[0, 2]); // two entries
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]); // orientation 6
    exif.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]); // GPS IFD pointer
    exif.extend_from_slice(&[0, 0, 0, 0]);
    jpeg.segments_mut().insert(
        1,
        JpegSegment::new_with_contents(markers::APP1, exif.into()),
    );
    let mut out = Vec::new();
    jpeg.encoder().write_to(&mut out).unwrap();
    out
}

#[test]
fn an_edited_photo_is_shown_upright_and_carries_no_exif() {
    let file = jpeg_with_orientation_6();
    let out = pipeline::prepare(
        "image/jpeg",
        &file,
        &[Edit::Crop(Area {
            x: 0,
            y: 0,
            width: 20,
            height: 30,
        })],
    )
    .unwrap()
    .unwrap();
    assert!(!out.bytes.windows(4).any(|w| w == b"Exif"), "no EXIF left");
    let img = decode(&out.bytes);
    // Orientation 6 turns the 40×20 landscape into 20×40 before the crop;
    // its white half (left) is now on top.
    assert_eq!(img.dimensions(), (20, 30));
    assert!(img.get_pixel(10, 2).0[0] > 200, "white on top");
    assert!(img.get_pixel(10, 28).0[0] < 60, "black below");
}

#[test]
fn without_edits_nothing_is_re_encoded() {
    let clean = encode(&checkerboard(16, 16), ImageFormat::Png);
    assert_eq!(pipeline::prepare("image/png", &clean, &[]).unwrap(), None);
    let out = pipeline::run(
        "image/png",
        &png_with_text(&checkerboard(16, 16)),
        &[Filter::StripMetadata],
    )
    .unwrap()
    .unwrap();
    assert!(!out.edited && out.metadata_removed);
    assert_eq!(decode(&out.bytes), checkerboard(16, 16));
}

#[test]
fn edits_that_do_not_fit_and_huge_images_are_refused() {
    let file = encode(&checkerboard(16, 16), ImageFormat::Png);
    let outside = Area {
        x: 10,
        y: 10,
        width: 10,
        height: 2,
    };
    for bad in [
        Edit::Crop(outside),
        Edit::Blur {
            area: outside,
            radius: 3,
        },
        Edit::Blur {
            area: Area {
                x: 0,
                y: 0,
                width: 4,
                height: 4,
            },
            radius: 0,
        },
        Edit::Pixelate {
            area: Area {
                x: 0,
                y: 0,
                width: 0,
                height: 4,
            },
            block: 4,
        },
    ] {
        assert_eq!(
            pipeline::prepare("image/png", &file, &[bad]),
            Err(EditError::BadEdit),
            "{bad:?}"
        );
    }
    assert_eq!(
        pipeline::prepare("image/png", &file, &[Edit::Rotate(Turn::Half); 33]),
        Err(EditError::BadEdit)
    );
    assert_eq!(
        pipeline::prepare("application/pdf", b"%PDF", &[Edit::Rotate(Turn::Half)]),
        Err(EditError::Unsupported)
    );
    assert_eq!(
        pipeline::prepare("image/png", b"\x89PNG junk", &[Edit::Rotate(Turn::Half)]),
        Err(EditError::Decode)
    );
    let wide = encode(&RgbaImage::new(12_001, 1), ImageFormat::Png);
    assert_eq!(
        pipeline::prepare("image/png", &wide, &[Edit::Rotate(Turn::Half)]),
        Err(EditError::TooLarge)
    );
}

mod selection {
    use image::RgbaImage;
    use parley_shared::media::edit::{Area, BLOCKS, Edit, MAX_RADIUS, Selection, Turn, apply};

    #[test]
    fn a_drawn_rectangle_maps_to_the_pixels_under_it_at_any_preview_size() {
        // Dragged from the bottom-right to the top-left: same rectangle.
        let s = Selection::between((0.9, 0.75), (0.1, 0.25));
        assert_eq!(
            s.to_area(200, 100),
            Some(Area {
                x: 20,
                y: 25,
                width: 160,
                height: 50
            })
        );
        // Points outside the image are clamped to its edges.
        let s = Selection::between((-0.5, -1.0), (2.0, 0.5));
        assert_eq!(
            s.to_area(10, 10),
            Some(Area {
                x: 0,
                y: 0,
                width: 10,
                height: 5
            })
        );
    }

    #[test]
    fn a_selection_is_never_empty_nor_outside_the_image() {
        let thin = Selection {
            left: 0.999,
            top: 1.0,
            width: 0.0,
            height: 0.0,
        };
        let a = thin.to_area(7, 3).unwrap();
        assert!(a.width >= 1 && a.height >= 1);
        assert!(a.x + a.width <= 7 && a.y + a.height <= 3, "{a:?}");
        assert!(!thin.is_usable());
        let nan = Selection {
            left: f64::NAN,
            ..Selection::MIDDLE
        };
        assert_eq!(nan.to_area(10, 10), None);
        assert_eq!(Selection::MIDDLE.to_area(0, 10), None);
    }

    #[test]
    fn keys_move_and_resize_within_the_image() {
        let s = Selection::MIDDLE.moved(1.0, -1.0);
        assert_eq!((s.left, s.top), (0.5, 0.0));
        let s = s.resized(1.0, -1.0);
        assert_eq!((s.width, s.height), (0.5, Selection::MIN_SIDE));
        assert!(s.is_usable());
    }

    #[test]
    fn hiding_strength_grows_with_the_area_and_stays_in_range() {
        let small = Area {
            x: 0,
            y: 0,
            width: 3,
            height: 2,
        };
        let face = Area {
            width: 400,
            height: 480,
            ..small
        };
        let huge = Area {
            width: 12_000,
            height: 9_000,
            ..small
        };
        assert_eq!(
            Edit::hiding_blur(small),
            Edit::Blur {
                area: small,
                radius: 1
            }
        );
        assert_eq!(
            Edit::hiding_blur(face),
            Edit::Blur {
                area: face,
                radius: 100
            }
        );
        assert_eq!(
            Edit::hiding_blur(huge),
            Edit::Blur {
                area: huge,
                radius: MAX_RADIUS
            }
        );
        assert_eq!(
            Edit::hiding_pixelation(small),
            Edit::Pixelate {
                area: small,
                block: *BLOCKS.start()
            }
        );
        assert_eq!(
            Edit::hiding_pixelation(face),
            Edit::Pixelate {
                area: face,
                block: 60
            }
        );
        // The sizes the editor's next selection maps onto (the preview's).
        let size = |w, h, e: Edit| apply(RgbaImage::new(w, h), &[e]).unwrap().dimensions();
        assert_eq!(size(1000, 1000, Edit::Crop(face)), (400, 480));
        assert_eq!(size(30, 20, Edit::Rotate(Turn::Quarter)), (20, 30));
        assert_eq!(size(30, 20, Edit::Rotate(Turn::Half)), (30, 20));
    }
}

#[test]
fn the_editor_is_offered_for_the_formats_it_can_write_back() {
    for mime in ["image/jpeg", "image/jpg", "image/png", "image/webp"] {
        assert!(pipeline::editable(mime), "{mime}");
    }
    for mime in [
        "image/gif",
        "image/svg+xml",
        "image/heic",
        "application/pdf",
        "",
    ] {
        assert!(!pipeline::editable(mime), "{mime}");
    }
}
