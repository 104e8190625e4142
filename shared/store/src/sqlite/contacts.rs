//! The `contacts` table: a contact, its inbox row and its search keys, read and written
//! as one [`ContactRecord`].

use replyline_domain::{
    Contact, ContactId, Conversation, ConversationId, ConversationStatus, Message, PersonName,
    Timestamp,
};
use rusqlite::{named_params, Connection, OptionalExtension};

use super::rows::{corrupt, flag, ms, opt_json, opt_ms, word, Cols, Db};
use crate::error::{StoreError, StoreResult};
use crate::model::MessageSummary;

/// One row of `contacts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContactRecord {
    pub contact: Contact,
    /// The stored status of the current conversation; `Closed` when there is none.
    pub inbox_status: ConversationStatus,
    pub snoozed_until: Option<Timestamp>,
    /// The open or snoozed conversation, else the latest closed one.
    pub conversation_id: Option<ConversationId>,
    pub last_activity_at: Timestamp,
    pub last_message: Option<MessageSummary>,
    /// Bumped by every write of the row.
    pub version: u64,
}

impl ContactRecord {
    /// A new contact with no conversation yet (it reads as closed), active at `at`.
    pub fn new(contact: Contact, at: Timestamp) -> Self {
        ContactRecord {
            contact,
            inbox_status: ConversationStatus::Closed,
            snoozed_until: None,
            conversation_id: None,
            last_activity_at: at,
            last_message: None,
            version: 0,
        }
    }

    /// Makes `conversation` the current one, as the inbox shows it.
    pub fn show(&mut self, conversation: &Conversation) {
        self.inbox_status = conversation.status;
        self.snoozed_until = match conversation.status {
            ConversationStatus::Snoozed => conversation.snoozed_until,
            _ => None,
        };
        self.conversation_id = Some(conversation.id.clone());
    }

    /// Counts a message as activity. Both move forward only: a late, older message
    /// neither moves the activity back nor replaces the newer preview.
    pub fn note_message(&mut self, message: &Message) {
        if message.created_at > self.last_activity_at {
            self.last_activity_at = message.created_at;
        }
        let newer = self
            .last_message
            .as_ref()
            .is_none_or(|last| message.created_at >= last.at);
        if newer {
            self.last_message = Some(MessageSummary::of(message));
        }
    }
}

const COLUMNS: &str = "id, first_name, last_name, email, phone, blocked, assignee, created_at, \
    updated_at, version, inbox_status, snoozed_until, conversation_id, last_activity_at, \
    last_message";

pub(crate) fn load(conn: &Connection, id: &ContactId) -> StoreResult<Option<ContactRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM contacts WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query([id.as_str()]).db()?;
    match rows.next().db()? {
        Some(row) => decode(&Cols(row)).map(Some),
        None => Ok(None),
    }
}

/// Loads a contact that must exist.
pub(crate) fn require(conn: &Connection, id: &ContactId) -> StoreResult<ContactRecord> {
    load(conn, id)?.ok_or_else(|| StoreError::not_found("contact", id))
}

pub(crate) fn exists(conn: &Connection, id: &ContactId) -> StoreResult<bool> {
    let mut stmt = conn
        .prepare_cached("SELECT 1 FROM contacts WHERE id = ?1")
        .db()?;
    Ok(stmt
        .query_row([id.as_str()], |_| Ok(()))
        .optional()
        .db()?
        .is_some())
}

fn decode(r: &Cols<'_, '_>) -> StoreResult<ContactRecord> {
    let version = r.int("version")?;
    Ok(ContactRecord {
        contact: Contact {
            id: r.parsed("id")?,
            first_name: r.opt_parsed::<PersonName>("first_name")?,
            last_name: r.opt_parsed::<PersonName>("last_name")?,
            email: r.opt_parsed("email")?,
            phone: r.opt_parsed("phone")?,
            blocked: r.boolean("blocked")?,
            assignee: r.opt_parsed("assignee")?,
            created_at: r.at("created_at")?,
            updated_at: r.at("updated_at")?,
        },
        inbox_status: r.word("inbox_status")?,
        snoozed_until: r.opt_at("snoozed_until")?,
        conversation_id: r.opt_parsed("conversation_id")?,
        last_activity_at: r.at("last_activity_at")?,
        last_message: r.opt_json("last_message")?,
        version: u64::try_from(version)
            .map_err(|_| corrupt("version", format!("{version} is negative")))?,
    })
}

/// Inserts a new contact (version 1).
pub(crate) fn insert(conn: &Connection, record: &mut ContactRecord) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO contacts ({COLUMNS}, search_first, search_last, search_email, search_phone) \
         VALUES (:id, :first_name, :last_name, :email, :phone, :blocked, :assignee, :created_at, \
         :updated_at, :version, :inbox_status, :snoozed_until, :conversation_id, :last_activity_at, \
         :last_message, :search_first, :search_last, :search_email, :search_phone)"
    );
    write(conn, &sql, record, 1)?;
    record.version = 1;
    Ok(())
}

/// Writes every column of an existing contact, checking that nobody wrote it since it
/// was read (`version`), and bumps the version.
pub(crate) fn update(conn: &Connection, record: &mut ContactRecord) -> StoreResult<()> {
    let sql = "UPDATE contacts SET first_name = :first_name, last_name = :last_name, \
        email = :email, phone = :phone, blocked = :blocked, assignee = :assignee, \
        created_at = :created_at, updated_at = :updated_at, version = version + 1, \
        inbox_status = :inbox_status, snoozed_until = :snoozed_until, \
        conversation_id = :conversation_id, last_activity_at = :last_activity_at, \
        last_message = :last_message, search_first = :search_first, \
        search_last = :search_last, search_email = :search_email, \
        search_phone = :search_phone \
        WHERE id = :id AND version = :version";
    let version = i64::try_from(record.version).map_err(|_| corrupt("version", record.version))?;
    if write(conn, sql, record, version)? != 1 {
        return Err(StoreError::Conflict {
            what: "contact",
            id: record.contact.id.to_string(),
        });
    }
    record.version += 1;
    Ok(())
}

fn write(conn: &Connection, sql: &str, r: &ContactRecord, version: i64) -> StoreResult<usize> {
    let c = &r.contact;
    let keys = c.search_keys();
    let mut stmt = conn.prepare_cached(sql).db()?;
    let params = named_params! {
        ":id": c.id.as_str(),
        ":first_name": c.first_name.as_ref().map(PersonName::as_str),
        ":last_name": c.last_name.as_ref().map(PersonName::as_str),
        ":email": c.email.as_ref().map(|e| e.as_str()),
        ":phone": c.phone.as_ref().map(|p| p.as_str()),
        ":blocked": flag(c.blocked),
        ":assignee": c.assignee.as_ref().map(|a| a.as_str()),
        ":created_at": ms(c.created_at),
        ":updated_at": ms(c.updated_at),
        ":inbox_status": word(&r.inbox_status)?,
        ":snoozed_until": opt_ms(r.snoozed_until),
        ":conversation_id": r.conversation_id.as_ref().map(|x| x.as_str()),
        ":last_activity_at": ms(r.last_activity_at),
        ":last_message": opt_json(r.last_message.as_ref())?,
        ":search_first": keys.first_name(),
        ":search_last": keys.last_name(),
        ":search_email": keys.email().map(|e| e.as_str()),
        ":search_phone": keys.phone_digits(),
        ":version": version,
    };
    stmt.execute(params).db()
}
