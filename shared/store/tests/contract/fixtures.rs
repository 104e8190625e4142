//! Builders for the contract suite: inbound events, outbound requests, instants.

use std::sync::Arc;
use std::time::Duration;

use replyline_domain::{
    AgentId, AssignOnOutbound, ChannelId, ChannelKind, ContactId, Content, ExternalId,
    IdempotencyKey, InboxView, PageSize, ProfileFields, SearchQuery, Sender, SortOrder,
    StatusFilter, Template, Timestamp,
};
use replyline_policy::{ChannelRules, Opener, RulesOverride};
use replyline_store::{
    CommandContext, Faults, InboundOutcome, InboundRecord, InboxPage, InboxQuery, OutboundRequest,
    Store,
};

/// One adapter under test.
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub faults: Faults,
    /// Removed when the test ends (the SQLite database's directory).
    pub scratch: Option<Scratch>,
}

/// A directory removed on drop.
pub struct Scratch(pub std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// The suite's "now" unless a test says otherwise.
pub fn t0() -> Timestamp {
    at("2026-11-10T12:00:00Z")
}

pub fn plus(t: Timestamp, d: Duration) -> Timestamp {
    t.saturating_add(d)
}

pub fn mins(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}
pub fn hours(n: u64) -> Duration {
    Duration::from_secs(3600 * n)
}
pub fn days(n: u64) -> Duration {
    Duration::from_secs(86_400 * n)
}

pub fn agent(id: &str) -> AgentId {
    AgentId::parse(id).unwrap()
}

pub fn chan(id: &str) -> ChannelId {
    ChannelId::parse(id).unwrap()
}

pub fn ctx(agent_id: &str, now: Timestamp) -> CommandContext {
    CommandContext {
        actor: agent(agent_id),
        now,
    }
}

pub fn profile(
    first: Option<&str>,
    last: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
) -> ProfileFields {
    ProfileFields::parse(first, last, email, phone).unwrap()
}

/// The channel kind each test channel id stands for.
pub fn kind_of(channel: &str) -> ChannelKind {
    match channel {
        "tg" => ChannelKind::Telegram,
        "sms" => ChannelKind::Sms,
        "fb" => ChannelKind::Messenger,
        "wa" => ChannelKind::Whatsapp,
        "vb" => ChannelKind::Viber,
        "wc" => ChannelKind::Wechat,
        other => panic!("no test channel {other}"),
    }
}

pub fn rules_for(channel: &str) -> ChannelRules {
    ChannelRules::default_for(kind_of(channel))
}

pub fn rules_with(channel: &str, toml_src: &str) -> ChannelRules {
    let ov: RulesOverride = toml_src_to_override(toml_src);
    ChannelRules::configured(kind_of(channel), &ov).unwrap()
}

fn toml_src_to_override(src: &str) -> RulesOverride {
    // The suite has no TOML dependency: the few overrides it needs are built here.
    let mut ov = RulesOverride::default();
    for line in src.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').unwrap();
        match (k.trim(), v.trim()) {
            ("initiated_allowance_per_month", n) => {
                ov.initiated_allowance_per_month = Some(n.parse().unwrap())
            }
            ("commercial_terms_accepted", b) => ov.commercial_terms_accepted = Some(b == "true"),
            (key, _) => panic!("fixture does not know {key}"),
        }
    }
    ov
}

/// An inbound text message on a test channel.
pub fn message(
    channel: &str,
    from: &str,
    event_id: &str,
    text: &str,
    when: Timestamp,
) -> InboundRecord {
    InboundRecord {
        channel: chan(channel),
        kind: kind_of(channel),
        external_id: ExternalId::parse(from).unwrap(),
        provider_event_id: event_id.to_owned(),
        opener: Opener::Message,
        occurred_at: when,
        received_at: when,
        profile: ProfileFields::default(),
        content: Some(Content::from_text(text).unwrap()),
        state_horizon: rules_for(channel).state_horizon(),
    }
}

/// An inbound message from someone with a profile.
pub fn message_from(
    channel: &str,
    from: &str,
    event_id: &str,
    who: ProfileFields,
    when: Timestamp,
) -> InboundRecord {
    InboundRecord {
        profile: who,
        ..message(channel, from, event_id, "hello", when)
    }
}

pub async fn record(h: &Harness, rec: &InboundRecord) -> InboundOutcome {
    h.store.record_inbound(rec).await.unwrap()
}

/// A contact who wrote once on `channel` at `when`; returns its id.
pub async fn contact_on(h: &Harness, channel: &str, from: &str, when: Timestamp) -> ContactId {
    record(
        h,
        &message(
            channel,
            from,
            &format!("{channel}-{from}-first"),
            "hi",
            when,
        ),
    )
    .await
    .contact_id
}

pub fn text(s: &str) -> Content {
    Content::from_text(s).unwrap()
}

pub fn template(name: &str) -> Content {
    Content::new(
        None,
        Some(Template::new(name, "en_US", vec![]).unwrap()),
        None,
    )
    .unwrap()
}

/// An agent's plain outbound message.
pub fn send(
    contact: &ContactId,
    channel: &str,
    by: &str,
    body: &str,
    now: Timestamp,
) -> OutboundRequest {
    OutboundRequest {
        contact_id: contact.clone(),
        channel: chan(channel),
        sender: Sender::Agent(agent(by)),
        content: text(body),
        idempotency_key: None,
        rules: rules_for(channel),
        assign: AssignOnOutbound::Always,
        now,
    }
}

pub fn with_key(mut req: OutboundRequest, key: &str) -> OutboundRequest {
    req.idempotency_key = Some(IdempotencyKey::parse(key).unwrap());
    req
}

pub fn inbox(agent_id: &str, view: InboxView, status: StatusFilter, now: Timestamp) -> InboxQuery {
    InboxQuery {
        agent: agent(agent_id),
        view,
        status,
        search: None,
        sort: SortOrder::Newest,
        limit: PageSize::DEFAULT,
        cursor: None,
        now,
    }
}

pub fn searching(mut q: InboxQuery, s: &str) -> InboxQuery {
    q.search = Some(SearchQuery::parse(s).unwrap());
    q
}

pub async fn list(h: &Harness, q: &InboxQuery) -> InboxPage {
    h.store.list_inbox(q).await.unwrap()
}

/// Contact ids of a page, in order.
pub fn row_ids(page: &InboxPage) -> Vec<ContactId> {
    page.items.iter().map(|i| i.contact.id.clone()).collect()
}

/// Every page of a listing, following cursors.
pub async fn all_pages(h: &Harness, q: &InboxQuery) -> Vec<ContactId> {
    let mut q = q.clone();
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = list(h, &q).await;
        out.extend(row_ids(&page));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return out,
        }
    }
    panic!("paging never ended");
}
