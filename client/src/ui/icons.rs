//! Icons as inline SVG (Feather-style strokes in the text colour): emoji
//! render as empty boxes where no emoji font is installed (Debian's
//! Chromium). Decorative: the control around an icon carries its name.

use leptos::prelude::*;

/// The icons the app draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Icon {
    /// Attach a file.
    Paperclip,
    /// Settings.
    Gear,
    /// A file.
    File,
    /// More (a conversation's details).
    More,
    /// An audio call.
    Phone,
    /// A video call.
    Video,
    /// Down to the newest messages.
    ArrowDown,
    /// Crop an image.
    Crop,
    /// Turn an image clockwise.
    Rotate,
    /// Blur a region.
    Blur,
    /// Pixelate a region.
    Pixelate,
    /// Take the last edit back.
    Undo,
}

impl Icon {
    /// The SVG's inner elements (24×24 view box).
    fn paths(self) -> &'static str {
        match self {
            Self::Paperclip => {
                r#"<path d="M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48"/>"#
            }
            Self::Gear => {
                r#"<circle cx="12" cy="12" r="3"/><path d="M19.4 15a1.65 1.65 0 0 0 .33 1.82l.06.06a2 2 0 1 1-2.83 2.83l-.06-.06a1.65 1.65 0 0 0-1.82-.33 1.65 1.65 0 0 0-1 1.51V21a2 2 0 1 1-4 0v-.09A1.65 1.65 0 0 0 9 19.4a1.65 1.65 0 0 0-1.82.33l-.06.06a2 2 0 1 1-2.83-2.83l.06-.06a1.65 1.65 0 0 0 .33-1.82 1.65 1.65 0 0 0-1.51-1H3a2 2 0 1 1 0-4h.09A1.65 1.65 0 0 0 4.6 9a1.65 1.65 0 0 0-.33-1.82l-.06-.06a2 2 0 1 1 2.83-2.83l.06.06a1.65 1.65 0 0 0 1.82.33H9a1.65 1.65 0 0 0 1-1.51V3a2 2 0 1 1 4 0v.09a1.65 1.65 0 0 0 1 1.51 1.65 1.65 0 0 0 1.82-.33l.06-.06a2 2 0 1 1 2.83 2.83l-.06.06a1.65 1.65 0 0 0-.33 1.82V9a1.65 1.65 0 0 0 1.51 1H21a2 2 0 1 1 0 4h-.09a1.65 1.65 0 0 0-1.51 1z"/>"#
            }
            Self::More => {
                r#"<circle cx="12" cy="5" r="1"/><circle cx="12" cy="12" r="1"/><circle cx="12" cy="19" r="1"/>"#
            }
            Self::Phone => {
                r#"<path d="M22 16.92v3a2 2 0 0 1-2.18 2 19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 1-6-6 19.79 19.79 0 0 1-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72c.13.96.36 1.9.7 2.81a2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45c.91.34 1.85.57 2.81.7A2 2 0 0 1 22 16.92z"/>"#
            }
            Self::Video => {
                r#"<path d="M23 7l-7 5 7 5V7z"/><rect x="1" y="5" width="15" height="14" rx="2" ry="2"/>"#
            }
            Self::ArrowDown => r#"<path d="M12 5v14"/><path d="M19 12l-7 7-7-7"/>"#,
            Self::Crop => {
                r#"<path d="M6.13 1L6 16a2 2 0 0 0 2 2h15"/><path d="M1 6.13L16 6a2 2 0 0 1 2 2v15"/>"#
            }
            Self::Rotate => {
                r#"<path d="M23 4v6h-6"/><path d="M20.49 15a9 9 0 1 1-2.12-9.36L23 10"/>"#
            }
            Self::Blur => r#"<path d="M12 2.69l5.66 5.66a8 8 0 1 1-11.31 0z"/>"#,
            Self::Pixelate => {
                r#"<rect x="3" y="3" width="7" height="7"/><rect x="14" y="3" width="7" height="7"/><rect x="14" y="14" width="7" height="7"/><rect x="3" y="14" width="7" height="7"/>"#
            }
            Self::Undo => r#"<path d="M9 14L4 9l5-5"/><path d="M20 20v-7a4 4 0 0 0-4-4H4"/>"#,
            Self::File => {
                r#"<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/><path d="M14 2v6h6"/>"#
            }
        }
    }

    /// The whole `<svg>` element.
    fn svg(self) -> String {
        format!(
            r#"<svg viewBox="0 0 24 24" width="1.2em" height="1.2em" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">{}</svg>"#,
            self.paths()
        )
    }
}

/// An icon, hidden from assistive technology. (ASCII lower case: the
/// names are ASCII, and `to_lowercase` would bring Unicode's case tables
/// into the first download.)
#[component]
pub(crate) fn IconView(icon: Icon) -> impl IntoView {
    view! { <span class="svg-icon" aria-hidden="true" data-icon=format!("{icon:?}").to_ascii_lowercase() inner_html=icon.svg()></span> }
}
