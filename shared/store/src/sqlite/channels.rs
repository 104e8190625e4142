//! A contact on its channels: identities with their hard stops (`contact_channels`),
//! window state (`windows`) and each channel account's monthly paid counter
//! (`paid_counters`), assembled into what the policy decides on.

use replyline_domain::{ChannelId, ChannelIdentity, ContactId, ExternalId, Timestamp, YearMonth};
use replyline_policy::{ContactChannelState, MonthlyCount, Opener, OpenerEvent};
use rusqlite::{named_params, Connection, OptionalExtension};

use super::rows::{flag, ms, opt_ms, word, Cols, Db};
use crate::error::StoreResult;
use crate::model::{ChannelFlag, ContactChannel};

/// The window part of a contact-channel's state, as it reads at some instant: state past
/// its expiry reads as absent (the default), whether or not anything deleted it yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Window {
    pub last_inbound_at: Option<Timestamp>,
    pub last_opener: Option<OpenerEvent>,
    pub sent_since_inbound: u32,
    /// The provider refused a send as outside the window at this instant.
    pub provider_closed_at: Option<Timestamp>,
    /// The provider refused a send as over the window's quota at this instant.
    pub provider_exhausted_at: Option<Timestamp>,
    /// When the state may be forgotten; `None`: keep it.
    pub expires_at: Option<Timestamp>,
}

impl Window {
    fn from_columns(r: &Cols<'_, '_>, now: Timestamp) -> StoreResult<Window> {
        let expires_at = r.opt_at("expires_at")?;
        if expires_at.is_some_and(|e| e <= now) {
            return Ok(Window::default());
        }
        let opener: Option<Opener> = r.opt_word("last_opener")?;
        let opener_at = r.opt_at("last_opener_at")?;
        Ok(Window {
            last_inbound_at: r.opt_at("last_inbound_at")?,
            last_opener: opener
                .zip(opener_at)
                .map(|(opener, at)| OpenerEvent { opener, at }),
            sent_since_inbound: match r.opt_int("sent_since_inbound")? {
                Some(_) => r.count("sent_since_inbound")?,
                None => 0,
            },
            provider_closed_at: r.opt_at("provider_closed_at")?,
            provider_exhausted_at: r.opt_at("provider_exhausted_at")?,
            expires_at,
        })
    }

    /// Puts the policy's view of the window back.
    pub fn apply(&mut self, state: &ContactChannelState) {
        self.last_inbound_at = state.last_inbound_at;
        self.last_opener = state.last_opener;
        self.sent_since_inbound = state.sent_since_inbound;
        self.provider_closed_at = state.provider_closed_at;
        self.provider_exhausted_at = state.provider_exhausted_at;
    }

    /// The policy's view of the window alone (no flags, no paid count).
    pub fn state(&self) -> ContactChannelState {
        ContactChannelState {
            last_inbound_at: self.last_inbound_at,
            last_opener: self.last_opener,
            sent_since_inbound: self.sent_since_inbound,
            provider_closed_at: self.provider_closed_at,
            provider_exhausted_at: self.provider_exhausted_at,
            ..ContactChannelState::default()
        }
    }
}

/// One channel of a contact, with everything stored about it.
#[derive(Clone, Debug)]
pub(crate) struct ChannelRow {
    pub identity: ChannelIdentity,
    pub opted_out: bool,
    pub unsubscribed: bool,
    pub window: Window,
    /// The channel account's paid count for the month asked for.
    pub paid: Option<MonthlyCount>,
}

impl ChannelRow {
    /// What the policy decides on; `blocked` is the contact's.
    pub fn state(&self, blocked: bool) -> ContactChannelState {
        ContactChannelState {
            last_inbound_at: self.window.last_inbound_at,
            last_opener: self.window.last_opener,
            sent_since_inbound: self.window.sent_since_inbound,
            paid_sent: self.paid,
            provider_closed_at: self.window.provider_closed_at,
            provider_exhausted_at: self.window.provider_exhausted_at,
            blocked,
            opted_out: self.opted_out,
            unsubscribed: self.unsubscribed,
        }
    }

    pub fn contact_channel(&self, blocked: bool) -> ContactChannel {
        ContactChannel {
            identity: self.identity.clone(),
            state: self.state(blocked),
        }
    }
}

const CHANNEL_SELECT: &str = "SELECT cc.channel, cc.external_id, cc.kind, cc.contact_id, \
    cc.opted_out, cc.unsubscribed, w.last_inbound_at, w.last_opener, w.last_opener_at, \
    w.sent_since_inbound, w.provider_closed_at, w.provider_exhausted_at, w.expires_at, \
    p.count AS paid_count \
    FROM contact_channels cc \
    LEFT JOIN windows w ON w.contact_id = cc.contact_id AND w.channel = cc.channel \
    LEFT JOIN paid_counters p ON p.channel = cc.channel AND p.month = :month \
    WHERE cc.contact_id = :contact";

/// Every channel of a contact, by channel id, as it reads at `now`.
pub(crate) fn of_contact(
    conn: &Connection,
    contact: &ContactId,
    now: Timestamp,
) -> StoreResult<Vec<ChannelRow>> {
    let sql = format!("{CHANNEL_SELECT} ORDER BY cc.channel");
    let month = now.month();
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt
        .query(named_params! {":month": month.to_string(), ":contact": contact.as_str()})
        .db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        out.push(decode(&Cols(row), month, now)?);
    }
    Ok(out)
}

/// One channel of a contact, as it reads at `now`.
pub(crate) fn of_contact_on(
    conn: &Connection,
    contact: &ContactId,
    channel: &ChannelId,
    now: Timestamp,
) -> StoreResult<Option<ChannelRow>> {
    let sql = format!("{CHANNEL_SELECT} AND cc.channel = :channel");
    let month = now.month();
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt
        .query(named_params! {
            ":month": month.to_string(),
            ":contact": contact.as_str(),
            ":channel": channel.as_str(),
        })
        .db()?;
    match rows.next().db()? {
        Some(row) => decode(&Cols(row), month, now).map(Some),
        None => Ok(None),
    }
}

fn decode(r: &Cols<'_, '_>, month: YearMonth, now: Timestamp) -> StoreResult<ChannelRow> {
    Ok(ChannelRow {
        identity: ChannelIdentity {
            channel: r.parsed("channel")?,
            kind: r.word("kind")?,
            external_id: r.parsed("external_id")?,
            contact_id: r.parsed("contact_id")?,
        },
        opted_out: r.boolean("opted_out")?,
        unsubscribed: r.boolean("unsubscribed")?,
        window: Window::from_columns(r, now)?,
        paid: match r.opt_int("paid_count")? {
            Some(_) => Some(MonthlyCount {
                month,
                count: r.count("paid_count")?,
            }),
            None => None,
        },
    })
}

/// The contact a channel identity belongs to.
pub(crate) fn contact_of(
    conn: &Connection,
    channel: &ChannelId,
    external_id: &ExternalId,
) -> StoreResult<Option<ContactId>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT contact_id FROM contact_channels WHERE channel = ?1 AND external_id = ?2",
        )
        .db()?;
    let id: Option<String> = stmt
        .query_row((channel.as_str(), external_id.as_str()), |row| row.get(0))
        .optional()
        .db()?;
    id.map(|s| {
        s.parse()
            .map_err(|e| super::rows::corrupt("contact_channels.contact_id", e))
    })
    .transpose()
}

pub(crate) fn insert_identity(
    conn: &Connection,
    identity: &ChannelIdentity,
    at: Timestamp,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO contact_channels (channel, external_id, kind, contact_id, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .db()?;
    stmt.execute((
        identity.channel.as_str(),
        identity.external_id.as_str(),
        word(&identity.kind)?,
        identity.contact_id.as_str(),
        ms(at),
    ))
    .db()?;
    Ok(())
}

/// Sets or clears a hard stop; false when no such identity exists.
pub(crate) fn set_flag(
    conn: &Connection,
    channel: &ChannelId,
    external_id: &ExternalId,
    which: ChannelFlag,
    value: bool,
    at: Timestamp,
) -> StoreResult<bool> {
    let sql = match which {
        ChannelFlag::OptedOut => {
            "UPDATE contact_channels SET opted_out = ?1, flags_changed_at = ?2 \
             WHERE channel = ?3 AND external_id = ?4"
        }
        ChannelFlag::Unsubscribed => {
            "UPDATE contact_channels SET unsubscribed = ?1, flags_changed_at = ?2 \
             WHERE channel = ?3 AND external_id = ?4"
        }
    };
    let mut stmt = conn.prepare_cached(sql).db()?;
    let n = stmt
        .execute((flag(value), ms(at), channel.as_str(), external_id.as_str()))
        .db()?;
    Ok(n == 1)
}

/// Writes a contact-channel's window state (creating it if needed).
pub(crate) fn save_window(
    conn: &Connection,
    contact: &ContactId,
    channel: &ChannelId,
    w: &Window,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO windows (contact_id, channel, last_inbound_at, last_opener, \
             last_opener_at, sent_since_inbound, provider_closed_at, provider_exhausted_at, \
             expires_at) \
             VALUES (:contact, :channel, :last_inbound_at, :last_opener, :last_opener_at, \
             :sent, :provider_closed_at, :provider_exhausted_at, :expires_at) \
             ON CONFLICT (contact_id, channel) DO UPDATE SET \
             last_inbound_at = excluded.last_inbound_at, last_opener = excluded.last_opener, \
             last_opener_at = excluded.last_opener_at, \
             sent_since_inbound = excluded.sent_since_inbound, \
             provider_closed_at = excluded.provider_closed_at, \
             provider_exhausted_at = excluded.provider_exhausted_at, \
             expires_at = excluded.expires_at",
        )
        .db()?;
    let opener = w.last_opener.map(|e| word(&e.opener)).transpose()?;
    stmt.execute(named_params! {
        ":contact": contact.as_str(),
        ":channel": channel.as_str(),
        ":last_inbound_at": opt_ms(w.last_inbound_at),
        ":last_opener": opener,
        ":last_opener_at": opt_ms(w.last_opener.map(|e| e.at)),
        ":sent": i64::from(w.sent_since_inbound),
        ":provider_closed_at": opt_ms(w.provider_closed_at),
        ":provider_exhausted_at": opt_ms(w.provider_exhausted_at),
        ":expires_at": opt_ms(w.expires_at),
    })
    .db()?;
    Ok(())
}

/// Counts one paid message against the channel account's month.
pub(crate) fn count_paid(
    conn: &Connection,
    channel: &ChannelId,
    month: YearMonth,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO paid_counters (channel, month, count) VALUES (?1, ?2, 1) \
             ON CONFLICT (channel, month) DO UPDATE SET count = count + 1",
        )
        .db()?;
    stmt.execute((channel.as_str(), month.to_string())).db()?;
    Ok(())
}
