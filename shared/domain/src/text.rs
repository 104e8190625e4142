//! The shared rule and error for short validated strings (ids, tags, names).
//!
//! Most of our string types differ only in their length limits and allowed characters,
//! so they share one checker and one error type; the error carries what was being
//! parsed, so its message still reads "channel id 'Tg' contains 'T'; ...".

/// The longest excerpt of a bad value an error message quotes: enough to recognise it,
/// short enough to keep a 1 MB payload out of the logs.
const PREVIEW_CHARS: usize = 64;

/// Why a piece of text is not a well-formed value of its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is blank: it contains only whitespace")]
    Blank { what: &'static str },
    #[error("{what} '{value}' is {len} characters long; at least {min} are required")]
    TooShort {
        what: &'static str,
        value: String,
        len: usize,
        min: usize,
    },
    #[error("{what} '{value}' is {len} characters long; at most {max} are allowed")]
    TooLong {
        what: &'static str,
        value: String,
        len: usize,
        max: usize,
    },
    #[error("{what} '{value}' contains {ch:?}; {rule}")]
    InvalidChar {
        what: &'static str,
        value: String,
        ch: char,
        rule: &'static str,
    },
    #[error("{what} '{value}' {rule}")]
    Malformed {
        what: &'static str,
        value: String,
        rule: &'static str,
    },
}

/// Length bounds (in characters) and an allowed-character predicate, checked in that
/// order so the first error is the most basic one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextRule {
    pub what: &'static str,
    pub min: usize,
    pub max: usize,
    pub allowed: fn(char) -> bool,
    /// Completes "contains 'x'; ..." for a character `allowed` rejects.
    pub rule: &'static str,
}

impl TextRule {
    pub(crate) fn check(&self, s: &str) -> Result<(), TextError> {
        let what = self.what;
        if s.is_empty() {
            return Err(TextError::Empty { what });
        }
        let len = s.chars().count();
        if len > self.max {
            return Err(TextError::TooLong {
                what,
                value: preview(s),
                len,
                max: self.max,
            });
        }
        if len < self.min {
            return Err(TextError::TooShort {
                what,
                value: preview(s),
                len,
                min: self.min,
            });
        }
        if let Some(ch) = s.chars().find(|&c| !(self.allowed)(c)) {
            return Err(TextError::InvalidChar {
                what,
                value: preview(s),
                ch,
                rule: self.rule,
            });
        }
        Ok(())
    }

    /// An error for a rule beyond length and characters ("must start with ...").
    pub(crate) fn malformed(&self, s: &str, rule: &'static str) -> TextError {
        TextError::Malformed {
            what: self.what,
            value: preview(s),
            rule,
        }
    }
}

/// A bad value as an error message quotes it: control characters escaped, and cut to
/// [`PREVIEW_CHARS`] characters with an ellipsis.
pub(crate) fn preview(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == PREVIEW_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGITS: TextRule = TextRule {
        what: "code",
        min: 2,
        max: 4,
        allowed: |c| c.is_ascii_digit(),
        rule: "it may only use digits",
    };

    #[test]
    fn checks_length_then_characters() {
        assert_eq!(DIGITS.check("12"), Ok(()));
        assert_eq!(DIGITS.check(""), Err(TextError::Empty { what: "code" }));
        assert!(matches!(
            DIGITS.check("1"),
            Err(TextError::TooShort { len: 1, min: 2, .. })
        ));
        assert!(matches!(
            DIGITS.check("12345"),
            Err(TextError::TooLong { len: 5, max: 4, .. })
        ));
        assert!(matches!(
            DIGITS.check("1a"),
            Err(TextError::InvalidChar { ch: 'a', .. })
        ));
    }

    #[test]
    fn messages_name_the_value_and_the_rule() {
        let err = DIGITS.check("1x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "code '1x' contains 'x'; it may only use digits"
        );
    }

    #[test]
    fn preview_escapes_control_characters_and_truncates() {
        assert_eq!(preview("a\nb"), "a\\nb");
        let long = "é".repeat(100);
        let shown = preview(&long);
        assert_eq!(shown.chars().count(), PREVIEW_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
