//! What only the DynamoDB adapter has to get right: the table it creates, TTL read-side
//! filtering, the forward-only window update across event kinds, token overflow, limits
//! AWS enforces and moto does not, tenant fencing, and error mapping.
//!
//! Needs moto: `scripts/moto.sh start` and
//! `export REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:5055`.

mod dynamo_support;

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType, TimeToLiveStatus};
use replyline_domain::{
    AgentId, ChannelId, ChannelKind, ContactId, Content, Cursor, ExternalId, InboxView, PageSize,
    ProfileFields, SearchQuery, SortOrder, StatusFilter, Timestamp,
};
use replyline_policy::{ChannelRules, Opener};
use replyline_store::dynamo::db::{Db, Tx, Write};
use replyline_store::dynamo::items::{key, s, ItemBuilder};
use replyline_store::dynamo::keys::Keys;
use replyline_store::dynamo::{local_client, DynamoStore, TABLE};
use replyline_store::{
    CommandContext, ConversationCommands, Faults, InboundRecord, InboundRecorder, InboxQuery,
    InboxReader, OutboundRecorder, StoreError, DEDUP_TTL, WINDOW_TTL_MARGIN,
};

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn t0() -> Timestamp {
    at("2026-11-10T12:00:00Z")
}

fn hours(n: u64) -> Duration {
    Duration::from_secs(3600 * n)
}

fn days(n: u64) -> Duration {
    Duration::from_secs(86_400 * n)
}

fn event(channel: &str, kind: ChannelKind, from: &str, id: &str, when: Timestamp) -> InboundRecord {
    InboundRecord {
        channel: ChannelId::parse(channel).unwrap(),
        kind,
        external_id: ExternalId::parse(from).unwrap(),
        provider_event_id: id.to_owned(),
        opener: Opener::Message,
        occurred_at: when,
        received_at: when,
        profile: ProfileFields::default(),
        content: Some(Content::from_text("hi").unwrap()),
        state_horizon: ChannelRules::default_for(kind).state_horizon(),
    }
}

fn all_query(now: Timestamp) -> InboxQuery {
    InboxQuery {
        agent: AgentId::parse("alice").unwrap(),
        view: InboxView::All,
        status: StatusFilter::All,
        search: None,
        sort: SortOrder::Newest,
        limit: PageSize::DEFAULT,
        cursor: None,
        now,
    }
}

fn search(q: &str, now: Timestamp) -> InboxQuery {
    InboxQuery {
        search: Some(SearchQuery::parse(q).unwrap()),
        ..all_query(now)
    }
}

#[tokio::test]
async fn the_created_table_matches_the_definition_and_has_ttl() {
    let client = local_client(&dynamo_support::endpoint());
    let table = dynamo_support::fresh_table(&client, "definition").await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let t = described.table().unwrap();
    let key_of = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        let find = |k: KeyType| {
            schema
                .iter()
                .find(|e| *e.key_type() == k)
                .map(|e| e.attribute_name().to_owned())
                .unwrap()
        };
        (find(KeyType::Hash), find(KeyType::Range))
    };
    assert_eq!(
        key_of(t.key_schema()),
        (TABLE.partition_key.to_owned(), TABLE.sort_key.to_owned())
    );
    let mut attrs: Vec<(String, String)> = t
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    attrs.sort();
    let mut want: Vec<(String, String)> = TABLE
        .attributes
        .iter()
        .map(|(a, k)| ((*a).to_owned(), (*k).to_owned()))
        .collect();
    want.sort();
    assert_eq!(attrs, want);
    assert_eq!(t.global_secondary_indexes().len(), TABLE.indexes.len());
    for index in TABLE.indexes {
        let gsi = t
            .global_secondary_indexes()
            .iter()
            .find(|g| g.index_name() == Some(index.name))
            .unwrap_or_else(|| panic!("index {} missing", index.name));
        assert_eq!(
            key_of(gsi.key_schema()),
            (index.partition_key.to_owned(), index.sort_key.to_owned())
        );
        assert_eq!(
            gsi.projection().and_then(|p| p.projection_type()),
            Some(&ProjectionType::All)
        );
    }
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(TABLE.ttl_attribute));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn an_expired_dedup_record_counts_as_absent() {
    let (store, ..) = dynamo_support::fresh_store("dedup").await;
    let rec = event("tg", ChannelKind::Telegram, "1", "u-1", t0());
    let first = store.record_inbound(&rec).await.unwrap();
    assert!(store.record_inbound(&rec).await.unwrap().duplicate);
    // Past the dedup TTL (moto never deletes the item): the event is new again.
    let mut late = rec.clone();
    late.received_at = t0().saturating_add(DEDUP_TTL).saturating_add(hours(1));
    let again = store.record_inbound(&late).await.unwrap();
    assert!(!again.duplicate);
    assert_eq!(again.contact_id, first.contact_id);
    assert_ne!(again.message_id, first.message_id);
}

async fn raw_window(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    contact: &ContactId,
    channel: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    let keys = Keys::new("t1");
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key(
            keys.contact(contact),
            Keys::window_sk(&ChannelId::parse(channel).unwrap()),
        )))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

fn number(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .map(|n| n.parse().unwrap())
}

#[tokio::test]
async fn window_updates_move_each_field_forward_and_never_shrink_the_ttl() {
    let (store, _, client, table) = dynamo_support::fresh_store("window").await;
    // Messenger: state matters for 7 days (ad referral window, HUMAN_AGENT tag).
    let horizon = ChannelRules::default_for(ChannelKind::Messenger)
        .state_horizon()
        .unwrap();
    let newer = t0().saturating_add(hours(2));
    let id = store
        .record_inbound(&event("fb", ChannelKind::Messenger, "psid", "m-1", newer))
        .await
        .unwrap()
        .contact_id;
    let ttl = |t: Timestamp| {
        t.saturating_add(horizon)
            .saturating_add(WINDOW_TTL_MARGIN)
            .as_secs()
    };
    let w = raw_window(&client, &table, &id, "fb").await;
    assert_eq!(number(&w, "expires_at"), Some(ttl(newer)));

    // An older ad referral still moves its own field, but keeps the later TTL.
    let mut referral = event("fb", ChannelKind::Messenger, "psid", "ref-1", t0());
    referral.opener = Opener::AdReferral;
    referral.content = None;
    let out = store.record_inbound(&referral).await.unwrap();
    assert!(out.window_moved);
    let w = raw_window(&client, &table, &id, "fb").await;
    assert_eq!(
        number(&w, "expires_at"),
        Some(ttl(newer)),
        "the TTL never shrinks"
    );
    assert_eq!(number(&w, "last_opener_at"), Some(t0().as_millis()));
    assert_eq!(number(&w, "last_inbound_at"), Some(newer.as_millis()));

    // The same referral again, or an older message: nothing moves.
    let mut older = event("fb", ChannelKind::Messenger, "psid", "m-0", t0());
    older.received_at = newer;
    assert!(!store.record_inbound(&older).await.unwrap().window_moved);
    let d = store.get_contact(&id, newer).await.unwrap();
    assert_eq!(d.channels[0].state.last_inbound_at, Some(newer));
    assert_eq!(
        d.channels[0].state.last_opener.map(|o| (o.opener, o.at)),
        Some((Opener::AdReferral, t0()))
    );
}

#[tokio::test]
async fn expired_window_state_is_replaced_not_revived() {
    let (store, ..) = dynamo_support::fresh_store("revive").await;
    // WeChat: a follow opens a 48 h window; its state expires a margin later.
    let mut follow = event("wc", ChannelKind::Wechat, "openid", "f-1", t0());
    follow.opener = Opener::Follow;
    follow.content = None;
    let id = store.record_inbound(&follow).await.unwrap().contact_id;
    let much_later = t0().saturating_add(days(90));
    let out = store
        .record_inbound(&event(
            "wc",
            ChannelKind::Wechat,
            "openid",
            "m-1",
            much_later,
        ))
        .await
        .unwrap();
    assert!(out.window_moved);
    let st = &store.get_contact(&id, much_later).await.unwrap().channels[0].state;
    assert_eq!(st.last_inbound_at, Some(much_later));
    assert_eq!(
        st.last_opener, None,
        "the expired follow is gone, not revived"
    );
}

#[tokio::test]
async fn long_names_index_outside_the_transaction_and_reindex_on_rename() {
    let (store, ..) = dynamo_support::fresh_store("tokens").await;
    // Two 100-character words: 198 name tokens, more than a transaction holds.
    let first: String = "abcdefghij".repeat(10);
    let last: String = "klmnopqrst".repeat(10);
    let mut rec = event("tg", ChannelKind::Telegram, "7", "u-long", t0());
    rec.profile = ProfileFields::parse(Some(&first), Some(&last), None, None).unwrap();
    let id = store.record_inbound(&rec).await.unwrap().contact_id;
    let now = t0().saturating_add(hours(1));
    for q in ["jabcde", "tklm", &first[..], "ghij klmn"] {
        let page = store.list_inbox(&search(q, now)).await.unwrap();
        assert_eq!(page.items.len(), 1, "{q}");
        assert_eq!(page.items[0].contact.id, id);
    }
    let ctx = CommandContext {
        actor: AgentId::parse("alice").unwrap(),
        now,
    };
    let renamed = ProfileFields::parse(Some("Ana"), Some("Paz"), None, None).unwrap();
    assert!(
        store
            .update_profile(&id, renamed, &ctx)
            .await
            .unwrap()
            .changed
    );
    assert!(store
        .list_inbox(&search("jabcde", now))
        .await
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        store
            .list_inbox(&search("paz", now))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn limits_aws_enforces_are_checked_before_sending() {
    let (store, _, client, table) = dynamo_support::fresh_store("limits").await;
    // A provider event id longer than a partition key may be.
    let long = event("tg", ChannelKind::Telegram, "1", &"e".repeat(3000), t0());
    assert!(matches!(
        store.record_inbound(&long).await,
        Err(StoreError::Invalid(m)) if m.contains("2048")
    ));

    let db = Db::new(client, table);
    let mut tx = Tx::new();
    for i in 0..101 {
        tx.push("x", Write::put(key("T#t1#X", format!("{i}"))));
    }
    assert!(
        matches!(db.transact(&tx).await, Err(replyline_store::dynamo::errors::TxError::Store(StoreError::Invalid(m))) if m.contains("100"))
    );
    let mut twice = Tx::new();
    twice.push("a", Write::put(key("T#t1#X", "1")));
    twice.push("b", Write::put(key("T#t1#X", "1")));
    assert!(matches!(
        db.transact(&twice).await,
        Err(replyline_store::dynamo::errors::TxError::Store(
            StoreError::Invalid(_)
        ))
    ));
    let wrong_type = ItemBuilder::new("T#t1#X", "2")
        .set("GSI1PK", AttributeValue::N("1".into()))
        .build();
    assert!(matches!(
        db.batch_write(vec![wrong_type], Vec::new()).await,
        Err(StoreError::Invalid(_))
    ));

    // Batches larger than DynamoDB's request limits are split.
    let items: Vec<_> = (0..260)
        .map(|i| {
            ItemBuilder::new("T#t1#Y", format!("{i:04}"))
                .set("v", s("x"))
                .build()
        })
        .collect();
    db.batch_write(items, Vec::new()).await.unwrap();
    let keys: Vec<_> = (0..260).map(|i| key("T#t1#Y", format!("{i:04}"))).collect();
    assert_eq!(db.batch_get(keys, true).await.unwrap().len(), 260);
}

#[tokio::test]
async fn tenants_sharing_a_table_do_not_see_each_other() {
    let (a, _, client, table) = dynamo_support::fresh_store("tenants").await;
    let b = DynamoStore::new(client, table, "t2", Faults::default());
    let rec = event("tg", ChannelKind::Telegram, "1", "u-1", t0());
    let in_a = a.record_inbound(&rec).await.unwrap();
    let now = t0().saturating_add(hours(1));
    assert!(b
        .list_inbox(&all_query(now))
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(matches!(
        b.get_contact(&in_a.contact_id, now).await,
        Err(StoreError::NotFound { .. })
    ));
    // The same provider event in the other tenant is its own event.
    assert!(!b.record_inbound(&rec).await.unwrap().duplicate);
    assert_eq!(a.list_inbox(&all_query(now)).await.unwrap().counts.all, 1);
}

#[tokio::test]
async fn a_timeline_cursor_belongs_to_its_contact() {
    let (store, ..) = dynamo_support::fresh_store("timeline").await;
    let a = store
        .record_inbound(&event("tg", ChannelKind::Telegram, "1", "u-1", t0()))
        .await
        .unwrap()
        .contact_id;
    store
        .record_inbound(&event(
            "tg",
            ChannelKind::Telegram,
            "1",
            "u-2",
            t0().saturating_add(hours(1)),
        ))
        .await
        .unwrap();
    let b = store
        .record_inbound(&event("tg", ChannelKind::Telegram, "2", "u-3", t0()))
        .await
        .unwrap()
        .contact_id;
    let one = PageSize::new(1).unwrap();
    let page = store.list_messages(&a, one, None).await.unwrap();
    let cursor: Cursor = page.next_cursor.unwrap();
    assert!(matches!(
        store.list_messages(&b, one, Some(&cursor)).await,
        Err(StoreError::InvalidCursor(_))
    ));
    let rest = store.list_messages(&a, one, Some(&cursor)).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor.is_none());
}

#[tokio::test]
async fn stored_garbage_reads_as_corrupt() {
    let (store, _, client, table) = dynamo_support::fresh_store("corrupt").await;
    let id = ContactId::generate(t0());
    let keys = Keys::new("t1");
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(
            ItemBuilder::new(keys.contact(&id), "PROFILE")
                .set("id", s(id.as_str()))
                .set("created_at", s("yesterday"))
                .build(),
        ))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        store.get_contact(&id, t0()).await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn backend_failures_are_unavailable_with_short_messages() {
    let client = local_client(&dynamo_support::endpoint());
    let store = DynamoStore::new(client, "no-such-table", "t1", Faults::default());
    let err = store
        .get_contact(&ContactId::generate(t0()), t0())
        .await
        .unwrap_err();
    match err {
        StoreError::Unavailable(m) => {
            assert_eq!(m, "DynamoDB Query: ResourceNotFoundException")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }

    // Nothing listens on port 9: the connection fails, fast, as Unavailable.
    let nowhere = DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(replyline_store::dynamo::configure(
            replyline_store::dynamo::local_config_builder("http://127.0.0.1:9"),
            replyline_store::dynamo::Timeouts::AWS,
        )),
        "t",
        "t1",
        Faults::default(),
    );
    let started = std::time::Instant::now();
    let err = nowhere
        .record_inbound(&event("tg", ChannelKind::Telegram, "1", "u-1", t0()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.starts_with("DynamoDB BatchGetItem:")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_replayed_send_is_answered_even_when_it_would_now_be_refused() {
    let (store, ..) = dynamo_support::fresh_store("replay").await;
    let id = store
        .record_inbound(&event(
            "wa",
            ChannelKind::Whatsapp,
            "972500000009",
            "w-1",
            t0(),
        ))
        .await
        .unwrap()
        .contact_id;
    let mut req = replyline_store::OutboundRequest {
        contact_id: id.clone(),
        channel: ChannelId::parse("wa").unwrap(),
        sender: replyline_domain::Sender::Automation,
        content: Content::from_text("Your order shipped").unwrap(),
        idempotency_key: Some(replyline_domain::IdempotencyKey::parse("order-1").unwrap()),
        rules: ChannelRules::default_for(ChannelKind::Whatsapp),
        assign: replyline_domain::AssignOnOutbound::Always,
        now: t0().saturating_add(hours(1)),
    };
    let first = store.begin_outbound(&req).await.unwrap();
    assert!(!first.replayed);
    assert_eq!(first.assignee, None, "automation never takes the contact");
    // Two days later the window is closed and plain text is refused, but this is a retry
    // of a send that was accepted: it gets the stored message, not a refusal.
    req.now = t0().saturating_add(days(2));
    let again = store.begin_outbound(&req).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.message.id, first.message.id);
    assert_eq!(again.conversation.id, first.conversation.id);
    // Without the key it is a new send, and refused.
    req.idempotency_key = None;
    assert!(matches!(
        store.begin_outbound(&req).await,
        Err(StoreError::Refused(_))
    ));
}

#[tokio::test]
async fn provider_refusals_keep_the_window_ttl_and_replace_expired_state() {
    let (store, _, client, table) = dynamo_support::fresh_store("refusal").await;
    let wa = ChannelId::parse("wa").unwrap();
    let id = store
        .record_inbound(&event(
            "wa",
            ChannelKind::Whatsapp,
            "972500000030",
            "w-1",
            t0(),
        ))
        .await
        .unwrap()
        .contact_id;
    let before = raw_window(&client, &table, &id, "wa").await;
    let ttl = number(&before, "expires_at");
    assert!(ttl.is_some());

    let refused = t0().saturating_add(hours(2));
    store
        .record_provider_refusal(&id, &wa, refused, false)
        .await
        .unwrap();
    let w = raw_window(&client, &table, &id, "wa").await;
    assert_eq!(number(&w, "provider_closed_at"), Some(refused.as_millis()));
    assert_eq!(number(&w, "provider_exhausted_at"), None);
    assert_eq!(number(&w, "expires_at"), ttl, "the TTL is left as it is");
    assert_eq!(number(&w, "last_inbound_at"), Some(t0().as_millis()));

    // Past its TTL the state is absent: a fresh item holds the refusal alone.
    let much_later = t0().saturating_add(days(90));
    store
        .record_provider_refusal(&id, &wa, much_later, true)
        .await
        .unwrap();
    let w = raw_window(&client, &table, &id, "wa").await;
    assert_eq!(
        number(&w, "provider_exhausted_at"),
        Some(much_later.as_millis())
    );
    assert_eq!(number(&w, "provider_closed_at"), None);
    assert_eq!(number(&w, "last_inbound_at"), None);
    assert_eq!(number(&w, "sent_since_inbound"), Some(0));
    assert_eq!(number(&w, "expires_at"), None);

    // A contact-channel without a window item gets one.
    let tg = store
        .record_inbound(&event("tg", ChannelKind::Telegram, "5150", "t-1", t0()))
        .await
        .unwrap()
        .contact_id;
    let tg_channel = ChannelId::parse("tg").unwrap();
    store
        .record_provider_refusal(&tg, &tg_channel, refused, false)
        .await
        .unwrap();
    let w = raw_window(&client, &table, &tg, "tg").await;
    assert_eq!(number(&w, "provider_closed_at"), Some(refused.as_millis()));
}

#[tokio::test]
async fn the_provider_id_lookup_is_written_with_the_sent_completion() {
    use replyline_domain::{AssignOnOutbound, Sender};
    use replyline_store::{MessageKey, OutboundRequest, SendOutcome};

    let (store, _, client, table) = dynamo_support::fresh_store("pmsg").await;
    let id = store
        .record_inbound(&event(
            "wa",
            ChannelKind::Whatsapp,
            "972500000031",
            "w-1",
            t0(),
        ))
        .await
        .unwrap()
        .contact_id;
    let send = |body: &str| OutboundRequest {
        contact_id: id.clone(),
        channel: ChannelId::parse("wa").unwrap(),
        sender: Sender::Agent(AgentId::parse("alice").unwrap()),
        content: Content::from_text(body).unwrap(),
        idempotency_key: None,
        rules: ChannelRules::default_for(ChannelKind::Whatsapp),
        assign: AssignOnOutbound::Always,
        now: t0().saturating_add(hours(1)),
    };
    let lookup = |pid: &str| {
        let client = client.clone();
        let table = table.clone();
        let k = key(
            Keys::new("t1").provider_message(&ChannelId::parse("wa").unwrap(), pid),
            "PMSG",
        );
        async move {
            client
                .get_item()
                .table_name(table)
                .set_key(Some(k))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
        }
    };
    let begun = store.begin_outbound(&send("a")).await.unwrap();
    assert!(lookup("wamid.A").await.is_none());
    store
        .complete_outbound(
            &MessageKey::of(&begun.message),
            &SendOutcome::Sent {
                provider_message_id: "wamid.A".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    let item = lookup("wamid.A").await.expect("the lookup item");
    assert_eq!(
        item.get("message_id").and_then(|v| v.as_s().ok()),
        Some(&begun.message.id.to_string())
    );
    assert_eq!(
        number(&item, "message_created_at"),
        Some(begun.message.created_at.as_millis())
    );
    assert!(!item.contains_key("expires_at"));

    // The same completion again writes nothing and answers the message.
    let again = store
        .complete_outbound(
            &MessageKey::of(&begun.message),
            &SendOutcome::Sent {
                provider_message_id: "wamid.A".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(again.provider_message_id.as_deref(), Some("wamid.A"));

    // A failed send has no provider id and no lookup.
    let doomed = store.begin_outbound(&send("b")).await.unwrap();
    store
        .complete_outbound(
            &MessageKey::of(&doomed.message),
            &SendOutcome::Failed {
                code: "131047".into(),
                text: "Re-engagement message".into(),
            },
            t0(),
        )
        .await
        .unwrap();
    // A lookup pointing at a missing message is corrupt data, not "unknown".
    let db = Db::new(client.clone(), table.clone());
    let mut tx = Tx::new();
    tx.push(
        "lookup",
        Write::put(
            ItemBuilder::new(
                Keys::new("t1").provider_message(&ChannelId::parse("wa").unwrap(), "wamid.Z"),
                "PMSG",
            )
            .set("contact_id", s(id.as_str()))
            .set("message_id", s(doomed.message.id.as_str()))
            .set("message_created_at", AttributeValue::N("1".into()))
            .build(),
        ),
    );
    db.transact(&tx).await.unwrap();
    assert!(matches!(
        store
            .fail_by_provider_id(&ChannelId::parse("wa").unwrap(), "wamid.Z", "1", "x", t0())
            .await,
        Err(StoreError::Corrupt(_))
    ));
}
