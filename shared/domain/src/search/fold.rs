//! Name folding: the form names are indexed and searched in.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Folds a name for accent- and case-insensitive search: Unicode NFKD (so "ﬁ" is "fi"
/// and a full-width "Ａ" is "A"), combining marks dropped ("José" is "jose"), lowercase,
/// whitespace runs collapsed to one space, trimmed. Idempotent.
///
/// A few Latin letters have no decomposition yet are typed without their stroke or
/// ligature on most keyboards, so they are spelled out: "ß" becomes "ss" (so "Straße"
/// and "strasse" find each other), "æ" "ae", "œ" "oe", "ø" "o", "ł" "l", "đ"/"ð" "d",
/// "þ" "th", "ħ" "h", dotless "ı" "i"; and Greek final "ς" is "σ", so a name typed in
/// capitals finds the same name typed in lowercase. Everything else (Cyrillic, CJK...)
/// is kept, lowercased.
pub fn fold_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space_pending = false;
    for c in s.nfkd() {
        if c.is_whitespace() {
            space_pending = !out.is_empty();
            continue;
        }
        if is_combining_mark(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            // Lowercasing can introduce a mark (only "İ", already decomposed above), and
            // a handful of lowercase letters have compatibility forms: fold those too,
            // which keeps the function idempotent.
            for d in std::iter::once(lower).nfkd() {
                if is_combining_mark(d) {
                    continue;
                }
                if space_pending {
                    out.push(' ');
                    space_pending = false;
                }
                match spelled_out(d) {
                    Some(s) => out.push_str(s),
                    None => out.push(d),
                }
            }
        }
    }
    out
}

fn spelled_out(c: char) -> Option<&'static str> {
    Some(match c {
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'ø' => "o",
        'ł' => "l",
        'đ' | 'ð' => "d",
        'þ' => "th",
        'ħ' => "h",
        'ı' => "i",
        'ς' => "σ",
        _ => return None,
    })
}

/// The words of a folded name (or query): what the DynamoDB adapter indexes suffixes of,
/// and what a query's terms are. Empty pieces are skipped, so any input is safe.
pub fn name_tokens(folded: &str) -> impl Iterator<Item = &str> {
    folded.split_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_accents_case_and_spacing() {
        assert_eq!(fold_name("  José   GARCÍA "), "jose garcia");
        assert_eq!(fold_name("Ångström"), "angstrom");
        assert_eq!(fold_name("François\u{a0}Müller"), "francois muller");
        assert_eq!(fold_name("Ｍａｒｉａ"), "maria");
        assert_eq!(fold_name("ﬁona"), "fiona");
        assert_eq!(fold_name("İlkay"), "ilkay");
        assert_eq!(fold_name("Ἀλέξανδρος"), "αλεξανδροσ");
        assert_eq!(fold_name("ἈΛΈΞΑΝΔΡΟΣ"), "αλεξανδροσ");
        assert_eq!(fold_name("Наталья"), "наталья");
        assert_eq!(fold_name("李 小龍"), "李 小龍");
        assert_eq!(fold_name("\t\n "), "");
    }

    #[test]
    fn spells_out_letters_without_decomposition() {
        assert_eq!(fold_name("Straße"), "strasse");
        assert_eq!(fold_name("STRAẞE"), "strasse");
        assert_eq!(fold_name("Łukasz Søren Þór Ærø"), "lukasz soren thor aero");
        assert_eq!(fold_name("Đorđe"), "dorde");
    }

    #[test]
    fn tokens_are_the_words() {
        let words: Vec<&str> = name_tokens("mary  ann o'neil ").collect();
        assert_eq!(words, ["mary", "ann", "o'neil"]);
        assert_eq!(name_tokens("").count(), 0);
    }

    #[test]
    fn idempotent_on_every_char() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let once = fold_name(&c.to_string());
            assert_eq!(fold_name(&once), once, "U+{:04X}", u32::from(c));
        }
    }

    proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,40}") {
            let once = fold_name(&s);
            prop_assert_eq!(fold_name(&once), once.clone());
        }

        #[test]
        fn output_is_trimmed_single_spaced(s in "[ \\tA-Za-zÀ-ÿ]{0,30}") {
            let f = fold_name(&s);
            prop_assert_eq!(f.trim(), f.as_str());
            prop_assert!(!f.contains("  "));
            prop_assert!(!f.contains('\t'));
        }
    }
}
