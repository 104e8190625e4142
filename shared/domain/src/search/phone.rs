//! Phone numbers in E.164 form, so one number has one spelling whatever the provider or
//! agent typed.

use crate::string_newtype::string_newtype;
use crate::text::preview;

string_newtype! {
    /// A phone number in E.164 form: "+" then 7 to 15 digits, the first being a country
    /// code digit (never 0).
    ///
    /// Parsing accepts common spellings: "+61 412 345 678", "(+1) 415-555-0100", the
    /// "00" international prefix ("0061412345678"), and bare digit strings such as a
    /// WhatsApp wa_id or a Twilio number ("972544401243"), which are taken to include the
    /// country code already. National numbers with a trunk "0" ("0412 345 678") are
    /// refused, because their country cannot be known.
    pub struct Phone;
    error = PhoneError;
    parse = parse_phone;
}

impl Phone {
    /// The digits without the "+": what search indexes and matches on.
    pub fn digits(&self) -> &str {
        self.0.strip_prefix('+').unwrap_or(&self.0)
    }
}

/// Why a text is not a phone number we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("phone number '{value}' contains {ch:?}; only digits, spaces, '-', '.', '(', ')' and a leading '+' are allowed")]
    InvalidChar { value: String, ch: char },
    #[error("phone number '{value}' has a '+' that is not at its start")]
    MisplacedPlus { value: String },
    #[error("phone number '{value}' has no country code: write it in international form, such as +61 412 345 678")]
    NoCountryCode { value: String },
    #[error("phone number '{value}' has {count} digits; an international number has 7 to 15")]
    DigitCount { value: String, count: usize },
}

/// Formatting characters people and providers put in numbers; any Unicode space counts
/// as a space, since numbers are often copied from web pages with no-break spaces.
pub(crate) fn is_phone_punctuation(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '(' | ')')
}

fn parse_phone(s: &str) -> Result<String, PhoneError> {
    let trimmed = s.trim();
    let value = || preview(trimmed);
    if trimmed.is_empty() {
        return Err(PhoneError::Empty);
    }
    let mut digits = String::with_capacity(trimmed.len());
    let mut plus = false;
    for ch in trimmed.chars() {
        match ch {
            '0'..='9' => digits.push(ch),
            '+' if !plus && digits.is_empty() => plus = true,
            '+' => return Err(PhoneError::MisplacedPlus { value: value() }),
            c if is_phone_punctuation(c) => {}
            ch => return Err(PhoneError::InvalidChar { value: value(), ch }),
        }
    }
    let international = match digits.strip_prefix("00") {
        Some(rest) if !plus => rest,
        _ => digits.as_str(),
    };
    if international.starts_with('0') {
        return Err(PhoneError::NoCountryCode { value: value() });
    }
    let count = international.len();
    if !(7..=15).contains(&count) {
        return Err(PhoneError::DigitCount {
            value: value(),
            count,
        });
    }
    Ok(format!("+{international}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_common_spellings() {
        for (input, e164) in [
            ("+61 412 345 678", "+61412345678"),
            ("(+1) 415-555-0100", "+14155550100"),
            ("+1 (415) 555.0100", "+14155550100"),
            ("0061412345678", "+61412345678"),
            ("972544401243", "+972544401243"),
            ("+44\u{a0}20\u{a0}7946\u{a0}0958", "+442079460958"),
            ("  +14155550100  ", "+14155550100"),
        ] {
            let p = Phone::parse(input).unwrap();
            assert_eq!(p.as_str(), e164, "{input:?}");
            assert_eq!(p.digits(), &e164[1..]);
        }
    }

    #[test]
    fn rejects_what_is_not_an_international_number() {
        assert_eq!(Phone::parse(" "), Err(PhoneError::Empty));
        for (bad, want) in [
            ("+1 415 CALL-NOW", "contains 'C'"),
            ("ext. 12345678", "contains 'e'"),
            ("415+5550100", "'+' that is not at its start"),
            ("++14155550100", "'+' that is not at its start"),
            ("0412 345 678", "no country code"),
            ("+0412345678", "no country code"),
            ("000412345678", "no country code"),
            ("+1 234 56", "has 6 digits"),
            ("+1234567890123456", "has 16 digits"),
            ("+", "has 0 digits"),
            ("١٢٣٤٥٦٧٨", "contains '١'"),
        ] {
            let err = Phone::parse(bad).unwrap_err().to_string();
            assert!(err.contains(want), "{bad:?}: {err}");
        }
    }

    #[test]
    fn serde_validates() {
        let p: Phone = serde_json::from_str("\"+61 412 345 678\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"+61412345678\"");
        assert!(serde_json::from_str::<Phone>("\"0412345678\"").is_err());
    }

    proptest! {
        #[test]
        fn e164_output_round_trips(digits in "[1-9][0-9]{6,14}") {
            let p = Phone::parse(&digits).unwrap();
            prop_assert_eq!(p.digits(), digits.as_str());
            prop_assert_eq!(Phone::parse(p.as_str()), Ok(p.clone()));
        }

        #[test]
        fn any_parsed_number_round_trips(s in "[+0-9 ().-]{0,25}") {
            if let Ok(p) = Phone::parse(&s) {
                prop_assert_eq!(Phone::parse(p.as_str()), Ok(p.clone()));
                prop_assert!(p.digits().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
