//! Email addresses, normalised so that equality is the product's "exact,
//! case-insensitive" match.

use crate::string_newtype::string_newtype;
use crate::text::preview;

/// RFC 5321's limit on a usable address (a path is 256 octets including `<>`).
const MAX_CHARS: usize = 254;

string_newtype! {
    /// An email address, trimmed and lowercased. Two addresses match when their
    /// normalised forms are equal: the local part is lowercased too, as every mainstream
    /// provider treats it case-insensitively and agents type it either way.
    pub struct Email;
    error = EmailError;
    parse = parse_email;
}

/// Why a text is not an email address we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("email address '{value}' is {len} characters long; at most 254 are allowed")]
    TooLong { value: String, len: usize },
    #[error(
        "email address '{value}' contains {ch:?}; spaces and control characters are not allowed"
    )]
    InvalidChar { value: String, ch: char },
    #[error("'{value}' is not an email address: it must contain exactly one '@'")]
    At { value: String },
    #[error("email address '{value}' has nothing before the '@'")]
    EmptyLocalPart { value: String },
    #[error("email address '{value}' has no valid domain: expected a name with a dot, such as example.com, after the '@'")]
    Domain { value: String },
}

fn parse_email(s: &str) -> Result<String, EmailError> {
    let email = s.trim().to_lowercase();
    let value = || preview(&email);
    if email.is_empty() {
        return Err(EmailError::Empty);
    }
    let len = email.chars().count();
    if len > MAX_CHARS {
        return Err(EmailError::TooLong {
            value: value(),
            len,
        });
    }
    if let Some(ch) = email.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(EmailError::InvalidChar { value: value(), ch });
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(EmailError::At { value: value() });
    };
    if domain.contains('@') {
        return Err(EmailError::At { value: value() });
    }
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart { value: value() });
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Err(EmailError::Domain { value: value() });
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_lowercases() {
        let e = Email::parse("  Ana.Perez+Support@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ana.perez+support@example.com");
        assert_eq!(e, Email::parse("ANA.PEREZ+SUPPORT@EXAMPLE.COM").unwrap());
        assert_eq!(
            Email::parse("Zoë@Exämple.de").unwrap().as_str(),
            "zoë@exämple.de"
        );
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        assert_eq!(Email::parse("  "), Err(EmailError::Empty));
        for (bad, want) in [
            ("ana", "exactly one '@'"),
            ("a@b@c.com", "exactly one '@'"),
            ("@example.com", "nothing before the '@'"),
            ("ana@localhost", "no valid domain"),
            ("ana@.com", "no valid domain"),
            ("ana@example.", "no valid domain"),
            ("ana@example..com", "no valid domain"),
            ("ana perez@example.com", "spaces"),
            ("ana\u{0}@example.com", "control"),
        ] {
            let err = Email::parse(bad).unwrap_err().to_string();
            assert!(err.contains(want), "{bad:?}: {err}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(matches!(
            Email::parse(&long),
            Err(EmailError::TooLong { len: 262, .. })
        ));
    }

    #[test]
    fn errors_name_the_value() {
        assert_eq!(
            Email::parse("ana@localhost").unwrap_err().to_string(),
            "email address 'ana@localhost' has no valid domain: expected a name with a dot, such as example.com, after the '@'"
        );
    }

    #[test]
    fn serde_validates() {
        let e: Email = serde_json::from_str("\"Ana@Example.com\"").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"ana@example.com\"");
        assert!(serde_json::from_str::<Email>("\"ana\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(s in "\\PC{0,30}@\\PC{0,20}\\.\\PC{0,8}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
            }
        }

        #[test]
        fn plausible_addresses_parse_and_are_idempotent(
            local in "[A-Za-z0-9._%+-]{1,20}",
            domain in "[A-Za-z0-9-]{1,20}",
            tld in "[A-Za-z]{2,6}",
        ) {
            let e = Email::parse(&format!(" {local}@{domain}.{tld} ")).unwrap();
            prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
        }
    }
}
