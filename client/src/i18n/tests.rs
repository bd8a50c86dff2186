//! The translations are complete and agree with each other and with the
//! code; Russian plurals and cases come out right.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

use super::words::{Case, duration, period};
use super::{BUNDLES, Lang, bundle, set_lang};

/// Shows `l`, its messages read from the file (the app fetches them).
fn show(l: Lang) {
    BUNDLES.with(|b| {
        b.borrow_mut()[l as usize].get_or_insert_with(|| bundle(l, l.source().to_owned()));
    });
    set_lang(l);
}

/// Each message's variables (`$name`), by message id.
fn messages(lang: Lang) -> BTreeMap<String, BTreeSet<String>> {
    let res = match fluent_syntax::parser::parse(lang.source()) {
        Ok(r) => r,
        Err((_, errors)) => panic!("{}.ftl does not parse: {errors:?}", lang.tag()),
    };
    let mut out = BTreeMap::new();
    for entry in res.body {
        match entry {
            Entry::Message(m) => {
                assert!(
                    m.attributes.is_empty(),
                    "{}: attributes are not used",
                    m.id.name
                );
                let mut vars = BTreeSet::new();
                let value = m
                    .value
                    .unwrap_or_else(|| panic!("{} has no value", m.id.name));
                pattern_vars(&value, &mut vars);
                let dup = out.insert(m.id.name.to_owned(), vars);
                assert!(dup.is_none(), "{} twice in {}.ftl", m.id.name, lang.tag());
            }
            Entry::Term(t) => panic!(
                "term -{} in {}.ftl: terms are not used",
                t.id.name,
                lang.tag()
            ),
            Entry::Junk { content } => panic!("junk in {}.ftl: {content}", lang.tag()),
            Entry::Comment(_) | Entry::GroupComment(_) | Entry::ResourceComment(_) => {}
        }
    }
    out
}

fn pattern_vars(p: &Pattern<&str>, vars: &mut BTreeSet<String>) {
    for e in &p.elements {
        if let PatternElement::Placeable { expression } = e {
            expression_vars(expression, vars);
        }
    }
}

fn expression_vars(e: &Expression<&str>, vars: &mut BTreeSet<String>) {
    match e {
        Expression::Select { selector, variants } => {
            inline_vars(selector, vars);
            for v in variants {
                pattern_vars(&v.value, vars);
            }
        }
        Expression::Inline(i) => inline_vars(i, vars),
    }
}

fn inline_vars(i: &InlineExpression<&str>, vars: &mut BTreeSet<String>) {
    match i {
        InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_owned());
        }
        InlineExpression::Placeable { expression } => expression_vars(expression, vars),
        _ => {}
    }
}

/// Every key the code passes to `tr!`, with the file it is in.
fn keys_in_code() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<String, String>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs")
                && !path.ends_with("i18n/tests.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (i, _) in text.match_indices("tr!(") {
                    // Not the end of a longer name (`include_str!(`).
                    if text[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    {
                        continue;
                    }
                    let rest = text[i + 4..].trim_start();
                    let Some(lit) = rest.strip_prefix('"') else {
                        continue;
                    };
                    let key: String = lit.chars().take_while(|c| *c != '"').collect();
                    out.insert(key, path.display().to_string());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

#[test]
fn both_languages_have_the_same_messages_and_variables() {
    let en = messages(Lang::En);
    let ru = messages(Lang::Ru);
    let en_ids: BTreeSet<_> = en.keys().collect();
    let ru_ids: BTreeSet<_> = ru.keys().collect();
    assert_eq!(
        en_ids.difference(&ru_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "missing in ru.ftl"
    );
    assert_eq!(
        ru_ids.difference(&en_ids).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "missing in en.ftl"
    );
    // A variable only one language needs is passed by the code for both;
    // `case` is the only one (English nouns have no case).
    let without_case = |v: &BTreeSet<String>| -> BTreeSet<String> {
        v.iter().filter(|n| *n != "case").cloned().collect()
    };
    for (id, vars) in &en {
        assert_eq!(
            Some(without_case(vars)),
            ru.get(id).map(without_case),
            "{id}: the two translations use different variables"
        );
    }
}

#[test]
fn every_key_in_the_code_is_translated_and_every_message_is_used() {
    let defined = messages(Lang::En);
    let used = keys_in_code();
    for (key, file) in &used {
        assert!(
            defined.contains_key(key),
            "{file}: tr!(\"{key}\") is in no .ftl file"
        );
    }
    for key in defined.keys() {
        assert!(
            used.contains_key(key),
            "{key} is translated but never shown"
        );
    }
}

#[test]
fn the_bundles_accept_both_files() {
    for l in Lang::ALL {
        let res = fluent_bundle::FluentResource::try_new(l.source().to_owned())
            .unwrap_or_else(|(_, e)| panic!("{}: {e:?}", l.tag()));
        let mut b = fluent_bundle::FluentBundle::new(vec![l.tag().parse().unwrap_or_default()]);
        if let Err(e) = b.add_resource(res) {
            panic!("{}: {e:?}", l.tag());
        }
    }
}

#[test]
fn russian_plurals_follow_cldr() {
    show(Lang::Ru);
    let unread = |n: u32| tr!("unread", count = n);
    assert_eq!(unread(1), "1 непрочитанное сообщение");
    assert_eq!(unread(2), "2 непрочитанных сообщения");
    assert_eq!(unread(5), "5 непрочитанных сообщений");
    assert_eq!(unread(11), "11 непрочитанных сообщений");
    assert_eq!(unread(21), "21 непрочитанное сообщение");
    assert_eq!(unread(24), "24 непрочитанных сообщения");
    assert_eq!(unread(0), "0 непрочитанных сообщений");
    show(Lang::En);
    assert_eq!(tr!("unread", count = 1), "1 unread message");
    assert_eq!(tr!("unread", count = 21), "21 unread messages");
}

#[test]
fn periods_take_the_case_they_stand_in() {
    show(Lang::Ru);
    assert_eq!(period(604_800, Case::Nominative), "1 неделя");
    assert_eq!(period(604_800, Case::Accusative), "1 неделю");
    assert_eq!(period(30, Case::Accusative), "30 секунд");
    assert_eq!(period(3 * 86_400, Case::Nominative), "3 дня");
    assert_eq!(
        tr!(
            "notice-timer-peer",
            peer = "Алиса",
            period = period(60, Case::Accusative)
        ),
        "Алиса включил(а) исчезновение сообщений через 1 минуту."
    );
    show(Lang::En);
    assert_eq!(period(30, Case::Accusative), "30 seconds");
    assert_eq!(period(3600, Case::Nominative), "1 hour");
    assert_eq!(period(1_209_600, Case::Nominative), "2 weeks");
}

#[test]
fn durations_show_their_two_largest_units() {
    // A number never parts from its unit at a line end.
    show(Lang::En);
    assert_eq!(duration(86_399), "23\u{a0}h 59\u{a0}min");
    assert_eq!(duration(6 * 86_400 + 23 * 3600 + 5), "6\u{a0}d 23\u{a0}h");
    assert_eq!(duration(3600 + 7), "1\u{a0}h");
    assert_eq!(duration(45), "45\u{a0}s");
    assert_eq!(duration(0), "0\u{a0}s");
    show(Lang::Ru);
    assert_eq!(duration(86_399), "23\u{a0}ч 59\u{a0}мин");
    assert_eq!(duration(90), "1\u{a0}мин 30\u{a0}с");
}

#[test]
fn the_browser_language_picks_the_translation() {
    assert_eq!(Lang::preferred(["ru-RU", "en-US"]), Lang::Ru);
    assert_eq!(Lang::preferred(["de-DE", "ru"]), Lang::Ru);
    assert_eq!(Lang::preferred(["en-GB", "ru"]), Lang::En);
    assert_eq!(Lang::preferred(["de", "fr"]), Lang::En);
    assert_eq!(Lang::preferred([]), Lang::En);
    assert_eq!(Lang::from_tag("RU_ru"), Some(Lang::Ru));
    assert_eq!(Lang::Ru.own_name(), "Русский");
}
