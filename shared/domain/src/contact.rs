//! Contacts: the people who write in, and how each channel knows them.

use serde::{Deserialize, Serialize};

use crate::channel::ChannelKind;
use crate::ids::{AgentId, ChannelId, ContactId, ExternalId};
use crate::search::{Email, EmailError, Phone, PhoneError, SearchKeys};
use crate::string_newtype::string_newtype;
use crate::text::{TextError, TextRule};
use crate::time::Timestamp;

const PERSON_NAME: TextRule = TextRule {
    what: "name",
    min: 1,
    max: 100,
    allowed: |c| !c.is_control(),
    rule: "a name may not contain control characters",
};

string_newtype! {
    /// A first or last name: trimmed, 1 to 100 characters, no control characters.
    pub struct PersonName;
    error = TextError;
    parse = parse_person_name;
}

fn parse_person_name(s: &str) -> Result<String, TextError> {
    let name = s.trim();
    if name.is_empty() && !s.is_empty() {
        return Err(TextError::Blank {
            what: PERSON_NAME.what,
        });
    }
    PERSON_NAME.check(name)?;
    Ok(name.to_owned())
}

impl PersonName {
    /// For optional input (provider payloads, forms): blank means "no name".
    pub fn parse_optional(s: &str) -> Result<Option<Self>, TextError> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            Self::parse(s).map(Some)
        }
    }
}

/// A person who writes in, on one or more channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub first_name: Option<PersonName>,
    pub last_name: Option<PersonName>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    /// Whether an agent blocked this contact.
    pub blocked: bool,
    /// The agent responsible for this contact: what the inbox's Mine and Unassigned views
    /// filter on.
    pub assignee: Option<AgentId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Contact {
    /// A new, unassigned, unblocked contact with what is known of them.
    pub fn new(id: ContactId, profile: ProfileFields, now: Timestamp) -> Self {
        Contact {
            id,
            first_name: profile.first_name,
            last_name: profile.last_name,
            email: profile.email,
            phone: profile.phone,
            blocked: false,
            assignee: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// How the inbox names the contact: "First Last" (or whichever exists), else the
    /// email, else the phone, else "Unknown contact".
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name, &self.email, &self.phone) {
            (Some(first), Some(last), _, _) => format!("{first} {last}"),
            (Some(name), None, _, _) | (None, Some(name), _, _) => name.to_string(),
            (None, None, Some(email), _) => email.to_string(),
            (None, None, None, Some(phone)) => phone.to_string(),
            (None, None, None, None) => "Unknown contact".to_owned(),
        }
    }

    /// The normalised keys the stores index this contact by.
    pub fn search_keys(&self) -> SearchKeys {
        SearchKeys::new(
            self.first_name.as_ref().map(PersonName::as_str),
            self.last_name.as_ref().map(PersonName::as_str),
            self.email.as_ref(),
            self.phone.as_ref(),
        )
    }
}

/// Profile data a provider payload or an agent's edit supplies; `None` means "not
/// supplied". Blank strings count as not supplied, so an empty form field or a provider's
/// `"last_name": ""` never produces an empty name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProfileInput")]
pub struct ProfileFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<PersonName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
}

/// Which profile field is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("invalid first name: {0}")]
    FirstName(TextError),
    #[error("invalid last name: {0}")]
    LastName(TextError),
    #[error("invalid email: {0}")]
    Email(EmailError),
    #[error("invalid phone: {0}")]
    Phone(PhoneError),
}

impl ProfileFields {
    /// Validates raw profile strings, treating blank ones as absent.
    pub fn parse(
        first_name: Option<&str>,
        last_name: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Result<Self, ProfileError> {
        Ok(ProfileFields {
            first_name: present(first_name)
                .map(PersonName::parse)
                .transpose()
                .map_err(ProfileError::FirstName)?,
            last_name: present(last_name)
                .map(PersonName::parse)
                .transpose()
                .map_err(ProfileError::LastName)?,
            email: present(email)
                .map(Email::parse)
                .transpose()
                .map_err(ProfileError::Email)?,
            phone: present(phone)
                .map(Phone::parse)
                .transpose()
                .map_err(ProfileError::Phone)?,
        })
    }
}

fn present(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// The wire shape of [`ProfileFields`]: plain optional strings, validated by `parse`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileInput {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

impl TryFrom<ProfileInput> for ProfileFields {
    type Error = ProfileError;
    fn try_from(p: ProfileInput) -> Result<Self, Self::Error> {
        ProfileFields::parse(
            p.first_name.as_deref(),
            p.last_name.as_deref(),
            p.email.as_deref(),
            p.phone.as_deref(),
        )
    }
}

/// How one channel knows a contact: the link from a provider's id to our contact.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelIdentity {
    pub channel: ChannelId,
    pub kind: ChannelKind,
    pub external_id: ExternalId,
    pub contact_id: ContactId,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(profile: ProfileFields) -> Contact {
        Contact::new(
            ContactId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap(),
            profile,
            Timestamp::EPOCH,
        )
    }

    fn profile(
        first: Option<&str>,
        last: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> ProfileFields {
        ProfileFields::parse(first, last, email, phone).unwrap()
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Ana María ").unwrap().as_str(),
            "Ana María"
        );
        assert_eq!(PersonName::parse_optional("   "), Ok(None));
        assert!(matches!(
            PersonName::parse("  "),
            Err(TextError::Blank { .. })
        ));
        assert!(matches!(
            PersonName::parse(""),
            Err(TextError::Empty { .. })
        ));
        assert!(PersonName::parse(&"a".repeat(100)).is_ok());
        assert_eq!(
            PersonName::parse(&"a".repeat(101)).unwrap_err().to_string(),
            format!(
                "name '{}…' is 101 characters long; at most 100 are allowed",
                "a".repeat(64)
            )
        );
        assert!(PersonName::parse("Ana\u{7}").is_err());
    }

    #[test]
    fn display_name_falls_back_in_order() {
        let full = contact(profile(Some("Ana"), Some("Pérez"), Some("a@x.io"), None));
        assert_eq!(full.display_name(), "Ana Pérez");
        assert_eq!(
            contact(profile(None, Some("Pérez"), None, None)).display_name(),
            "Pérez"
        );
        assert_eq!(
            contact(profile(Some("Ana"), None, None, None)).display_name(),
            "Ana"
        );
        let email = contact(profile(None, None, Some("A@X.io"), Some("+14155550100")));
        assert_eq!(email.display_name(), "a@x.io");
        let phone = contact(profile(None, None, None, Some("+1 415 555 0100")));
        assert_eq!(phone.display_name(), "+14155550100");
        assert_eq!(
            contact(ProfileFields::default()).display_name(),
            "Unknown contact"
        );
    }

    #[test]
    fn search_keys_are_normalised() {
        let c = contact(profile(
            Some("José"),
            Some("GARCÍA"),
            Some("Jose@X.io"),
            Some("0034 600 000 000"),
        ));
        let keys = c.search_keys();
        assert_eq!(keys.first_name(), Some("jose"));
        assert_eq!(keys.last_name(), Some("garcia"));
        assert_eq!(keys.email().map(Email::as_str), Some("jose@x.io"));
        assert_eq!(keys.phone_digits(), Some("34600000000"));
    }

    #[test]
    fn profile_fields_treat_blank_as_absent_and_say_which_field_is_wrong() {
        assert_eq!(
            profile(Some(" "), Some(""), Some("  "), Some(" ")),
            ProfileFields::default()
        );
        let err = ProfileFields::parse(None, None, Some("ana"), None).unwrap_err();
        assert!(matches!(err, ProfileError::Email(_)));
        assert!(err
            .to_string()
            .starts_with("invalid email: 'ana' is not an email address"));
        let err = ProfileFields::parse(None, Some(&"x".repeat(101)), None, None).unwrap_err();
        assert!(matches!(
            err,
            ProfileError::LastName(TextError::TooLong { len: 101, .. })
        ));
        assert!(matches!(
            ProfileFields::parse(None, None, None, Some("call me")),
            Err(ProfileError::Phone(_))
        ));
    }

    #[test]
    fn profile_fields_deserialise_through_validation() {
        let p: ProfileFields =
            serde_json::from_str(r#"{"first_name":" Ana ","last_name":"","email":"ANA@X.IO"}"#)
                .unwrap();
        assert_eq!(p, profile(Some("Ana"), None, Some("ana@x.io"), None));
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"first_name":"Ana","email":"ana@x.io"}"#
        );
        assert!(serde_json::from_str::<ProfileFields>(r#"{"phone":"12"}"#).is_err());
        assert!(serde_json::from_str::<ProfileFields>(r#"{"nickname":"Ana"}"#).is_err());
    }

    #[test]
    fn contact_and_identity_round_trip_through_serde() {
        let mut c = contact(profile(Some("Ana"), None, None, Some("+61412345678")));
        c.assignee = Some(AgentId::parse("alice").unwrap());
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Contact>(&json).unwrap(), c);
        let bad = json.replace("\"Ana\"", "\"   \"");
        assert!(serde_json::from_str::<Contact>(&bad).is_err());

        let identity = ChannelIdentity {
            channel: ChannelId::parse("wa").unwrap(),
            kind: ChannelKind::Whatsapp,
            external_id: ExternalId::parse("61412345678").unwrap(),
            contact_id: c.id.clone(),
        };
        let json = serde_json::to_string(&identity).unwrap();
        assert!(json.contains(r#""kind":"whatsapp""#));
        assert_eq!(
            serde_json::from_str::<ChannelIdentity>(&json).unwrap(),
            identity
        );
    }
}
