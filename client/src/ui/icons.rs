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

/// An icon, hidden from assistive technology.
#[component]
pub(crate) fn IconView(icon: Icon) -> impl IntoView {
    view! { <span class="svg-icon" aria-hidden="true" data-icon=format!("{icon:?}").to_lowercase() inner_html=icon.svg()></span> }
}
