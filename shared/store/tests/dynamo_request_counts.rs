//! How many DynamoDB requests each operation sends, counted by an SDK interceptor. The
//! table in `src/dynamo/mod.rs` ("Requests per operation") states these numbers: change
//! both together.
//!
//! Needs moto: `scripts/moto.sh start` and
//! `export REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:5055`.

mod dynamo_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;
use replyline_domain::{
    AgentId, AssignOnOutbound, ChannelId, ChannelKind, Content, ExternalId, InboxView, PageSize,
    ProfileFields, SearchQuery, Sender, SortOrder, StatusFilter, Timestamp,
};
use replyline_policy::{ChannelRules, Opener, RulesOverride};
use replyline_store::dynamo::{configure, local_config_builder, DynamoStore, Timeouts};
use replyline_store::{
    ChannelFlag, ChannelFlags, CommandContext, ConversationCommands, Faults, FlagChange,
    InboundRecord, InboundRecorder, InboxQuery, InboxReader, MessageKey, OutboundRecorder,
    OutboundRequest, SendOutcome,
};

/// Counts requests per operation name (each attempt that goes on the wire).
#[derive(Clone, Debug, Default)]
struct Counter(Arc<Mutex<Vec<String>>>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map_or_else(|| "unknown".to_owned(), |m| m.name().to_owned());
        if let Ok(mut seen) = self.0.lock() {
            seen.push(name);
        }
        Ok(())
    }
}

impl Counter {
    /// Requests since the last call, by operation.
    fn take(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for op in self.0.lock().unwrap().drain(..) {
            *out.entry(op).or_default() += 1;
        }
        out
    }
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn message(
    channel: &str,
    kind: ChannelKind,
    from: &str,
    event: &str,
    when: Timestamp,
) -> InboundRecord {
    InboundRecord {
        channel: ChannelId::parse(channel).unwrap(),
        kind,
        external_id: ExternalId::parse(from).unwrap(),
        provider_event_id: event.to_owned(),
        opener: Opener::Message,
        occurred_at: when,
        received_at: when,
        profile: ProfileFields::parse(Some("Carla"), Some("Gómez"), None, None).unwrap(),
        content: Some(Content::from_text("hello").unwrap()),
        state_horizon: ChannelRules::default_for(kind).state_horizon(),
    }
}

fn inbox(status: StatusFilter, now: Timestamp) -> InboxQuery {
    InboxQuery {
        agent: AgentId::parse("alice").unwrap(),
        view: InboxView::All,
        status,
        search: None,
        sort: SortOrder::Newest,
        limit: PageSize::DEFAULT,
        cursor: None,
        now,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_operation() {
    let endpoint = dynamo_support::endpoint();
    let counter = Counter::default();
    let client = aws_sdk_dynamodb::Client::from_conf(configure(
        local_config_builder(&endpoint).interceptor(counter.clone()),
        Timeouts::LOCAL,
    ));
    let table = dynamo_support::fresh_table(&client, "counts").await;
    let store = DynamoStore::new(client, table, "t1", Faults::default());
    counter.take();
    let t0 = at("2026-11-10T12:00:00Z");
    let later = at("2026-11-10T12:05:00Z");

    // record_inbound: new contact, known contact, duplicate.
    let first = message("tg", ChannelKind::Telegram, "100", "u-1", t0);
    let out = store.record_inbound(&first).await.unwrap();
    assert!(out.contact_created);
    assert_eq!(
        counter.take(),
        counts(&[
            ("BatchGetItem", 1),
            ("TransactWriteItems", 1),
            ("UpdateItem", 1)
        ]),
        "record_inbound, new contact"
    );
    let id = out.contact_id;
    store
        .record_inbound(&message("tg", ChannelKind::Telegram, "100", "u-2", later))
        .await
        .unwrap();
    assert_eq!(
        counter.take(),
        counts(&[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("TransactWriteItems", 1),
            ("UpdateItem", 1)
        ]),
        "record_inbound, known contact"
    );
    assert!(store.record_inbound(&first).await.unwrap().duplicate);
    assert_eq!(
        counter.take(),
        counts(&[("BatchGetItem", 1), ("UpdateItem", 1)]),
        "record_inbound, duplicate"
    );

    // list_inbox without search, per status filter.
    for (status, queries) in [
        (StatusFilter::Closed, 2),
        (StatusFilter::Snoozed, 3),
        (StatusFilter::Open, 4),
        (StatusFilter::All, 5),
    ] {
        let page = store.list_inbox(&inbox(status, later)).await.unwrap();
        let mut want = vec![("Query", queries)];
        if !page.items.is_empty() {
            want.push(("BatchGetItem", 1));
        }
        assert_eq!(counter.take(), counts(&want), "list_inbox {status:?}");
    }
    let mut searching = inbox(StatusFilter::All, later);
    searching.search = Some(SearchQuery::parse("carla gom").unwrap());
    let page = store.list_inbox(&searching).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        counter.take(),
        counts(&[("BatchGetItem", 2), ("Query", 2)]),
        "list_inbox, two search terms"
    );

    store.get_contact(&id, later).await.unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("BatchGetItem", 1), ("Query", 1)]),
        "get_contact"
    );

    let send = OutboundRequest {
        contact_id: id.clone(),
        channel: ChannelId::parse("tg").unwrap(),
        sender: Sender::Agent(AgentId::parse("alice").unwrap()),
        content: Content::from_text("On it").unwrap(),
        idempotency_key: None,
        rules: ChannelRules::default_for(ChannelKind::Telegram),
        assign: AssignOnOutbound::Always,
        now: later,
    };
    let begun = store.begin_outbound(&send).await.unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("Query", 1), ("TransactWriteItems", 1)]),
        "begin_outbound"
    );

    store
        .complete_outbound(
            &MessageKey::of(&begun.message),
            &SendOutcome::Sent {
                provider_message_id: "tg-1".into(),
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "complete_outbound, sent (the update and the provider-id lookup)"
    );

    let tg = ChannelId::parse("tg").unwrap();
    let failed = store
        .fail_by_provider_id(&tg, "tg-1", "400", "Bad Request", later)
        .await
        .unwrap();
    assert!(failed.is_some());
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1), ("UpdateItem", 1)]),
        "fail_by_provider_id"
    );
    assert!(store
        .fail_by_provider_id(&tg, "tg-unknown", "400", "Bad Request", later)
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1)]),
        "fail_by_provider_id, unknown id"
    );

    let doomed = store.begin_outbound(&send).await.unwrap();
    counter.take();
    store
        .complete_outbound(
            &MessageKey::of(&doomed.message),
            &SendOutcome::Failed {
                code: "403".into(),
                text: "Forbidden".into(),
            },
            later,
        )
        .await
        .unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("UpdateItem", 1)]),
        "complete_outbound, failed"
    );

    store
        .record_provider_refusal(&id, &tg, later, false)
        .await
        .unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1), ("UpdateItem", 1)]),
        "record_provider_refusal"
    );

    let ctx = CommandContext {
        actor: AgentId::parse("alice").unwrap(),
        now: later,
    };
    store.close(&id, None, false, &ctx).await.unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "close"
    );

    store
        .set_channel_flag(&FlagChange {
            channel: ChannelId::parse("tg").unwrap(),
            external_id: ExternalId::parse("100").unwrap(),
            flag: ChannelFlag::Unsubscribed,
            value: true,
            at: later,
        })
        .await
        .unwrap();
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1), ("UpdateItem", 1)]),
        "set_channel_flag"
    );

    // A channel with paid messages also reads its monthly counter.
    let viber = store
        .record_inbound(&message("vb", ChannelKind::Viber, "v-1==", "vb-1", t0))
        .await
        .unwrap()
        .contact_id;
    counter.take();
    let ov = RulesOverride {
        initiated_allowance_per_month: Some(5),
        ..RulesOverride::default()
    };
    let paid = OutboundRequest {
        contact_id: viber,
        channel: ChannelId::parse("vb").unwrap(),
        rules: ChannelRules::configured(ChannelKind::Viber, &ov).unwrap(),
        now: at("2026-11-12T12:00:00Z"),
        ..send
    };
    assert!(store.begin_outbound(&paid).await.unwrap().message.paid);
    assert_eq!(
        counter.take(),
        counts(&[("GetItem", 1), ("Query", 1), ("TransactWriteItems", 1)]),
        "begin_outbound, paid"
    );
}
