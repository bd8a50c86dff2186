//! Every text the app shows, in English and Russian (ADR 0018): Project
//! Fluent messages in `client/locales/*.ftl`, looked up by key with `tr!`.
//! The language is a signal, so text read inside a view updates when the
//! user switches; dates and times come from the browser's `Intl` (see
//! `browser`), durations from [`duration`].

mod browser;
mod errors;
mod rooms;
pub(crate) mod unloaded;
mod words;

use std::borrow::Cow;
use std::cell::RefCell;

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource};
use leptos::prelude::*;
use unic_langid::LanguageIdentifier;

pub(crate) use browser::{
    clock, date_time, day_heading, day_or_time, init, iso, local_day, switch,
};
pub(crate) use errors::Localize;
pub(crate) use rooms::room_notice;
pub(crate) use words::{Case, duration, notice, period};

/// A language the app is translated into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Lang {
    /// English (also for every language without a translation).
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// Every translation, in the order the Settings menu lists them.
    pub(crate) const ALL: [Self; 2] = [Self::En, Self::Ru];

    /// BCP 47 primary language tag (`<html lang>`, storage, `Intl`).
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Ru => "ru",
        }
    }

    /// The translation for a BCP 47 tag (`ru-RU` → Russian), if there is one.
    pub(crate) fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// The first translated language of a preference list (the browser's
    /// `navigator.languages`), English when none is.
    pub(crate) fn preferred<'a>(tags: impl IntoIterator<Item = &'a str>) -> Self {
        tags.into_iter()
            .find_map(Self::from_tag)
            .unwrap_or(Self::En)
    }

    /// The language's own name, as its menu entry shows it. Not a message:
    /// the menu names every language while only the one shown is loaded,
    /// and a language's name for itself is the same in every language.
    pub(crate) fn own_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Ru => "Русский",
        }
    }

    /// Where the build put this language's messages (client/build.rs names
    /// the file by its content, so the relay serves it as immutable).
    fn url(self) -> &'static str {
        match self {
            Self::En => concat!("/", env!("PARLEY_FTL_EN")),
            Self::Ru => concat!("/", env!("PARLEY_FTL_RU")),
        }
    }

    /// The messages as the unit tests read them (the app fetches them).
    #[cfg(test)]
    fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("../../locales/en.ftl"),
            Self::Ru => include_str!("../../locales/ru.ftl"),
        }
    }
}

/// One language's messages. A file that does not parse is a build mistake
/// the unit tests catch; at run time the messages that did parse are used.
fn bundle(lang: Lang, source: String) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.tag().parse().unwrap_or_default();
    let mut b = FluentBundle::new(vec![id]);
    // No Unicode isolation marks around arguments: names are single words
    // of either direction, and the marks would show in copied text.
    b.set_use_isolating(false);
    let res = FluentResource::try_new(source).unwrap_or_else(|(r, _)| r);
    // Duplicate ids are rejected by the tests; the first one wins here.
    let _ = b.add_resource(res);
    b
}

thread_local! {
    /// The language shown; a reference-counted signal, owned by no
    /// component, so it lives as long as the page.
    static LANG: ArcRwSignal<Lang> = ArcRwSignal::new(Lang::En);
    /// The parsed messages of each language loaded so far, by `Lang as usize`.
    static BUNDLES: RefCell<[Option<FluentBundle<FluentResource>>; 2]> =
        const { RefCell::new([None, None]) };
}

/// A language's messages could not be fetched.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct LoadError(String);

/// Fetches and parses `l`'s messages unless they are loaded already.
async fn load(l: Lang) -> Result<(), LoadError> {
    if BUNDLES.with(|b| b.borrow()[l as usize].is_some()) {
        return Ok(());
    }
    let source = browser::fetch_text(l.url()).await.map_err(LoadError)?;
    let parsed = bundle(l, source);
    BUNDLES.with(|b| b.borrow_mut()[l as usize] = Some(parsed));
    Ok(())
}

/// The language shown; reading it inside a view or effect subscribes to it.
pub(crate) fn lang() -> Lang {
    LANG.with(|l| l.get())
}

/// Shows `l` from now on (without storing the choice; see [`switch`]).
fn set_lang(l: Lang) {
    LANG.with(|s| s.set(l));
}

fn format(b: &FluentBundle<FluentResource>, key: &str, args: Option<&FluentArgs<'_>>) -> String {
    let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
        // A key missing in one file: the unit tests keep this from shipping.
        return key.to_owned();
    };
    let mut errors = Vec::new();
    let text: Cow<'_, str> = b.format_pattern(pattern, args, &mut errors);
    text.into_owned()
}

/// The message `key` in the language shown (tracked), with `args`.
/// Use [`tr!`](crate::tr), which the key check in the tests can see.
pub(crate) fn text(key: &str, args: Option<&FluentArgs<'_>>) -> String {
    let l = lang();
    BUNDLES.with(|b| match &b.borrow()[l as usize] {
        Some(bundle) => format(bundle, key, args),
        // Shown only before `init` or after it failed.
        None => key.to_owned(),
    })
}

/// A translated message: the key as a literal (the tests read every use),
/// then the arguments by name, e.g. `count = n`.
#[macro_export]
macro_rules! tr {
    ($key:literal) => {
        $crate::i18n::text($key, None)
    };
    ($key:literal, $($name:ident = $value:expr),+ $(,)?) => {{
        let mut args = ::fluent_bundle::FluentArgs::new();
        $( args.set(stringify!($name), $value); )+
        $crate::i18n::text($key, Some(&args))
    }};
}

#[cfg(test)]
mod tests;
