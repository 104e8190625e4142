//! The store contract suite: one generic set of tests, instantiated for every adapter
//! (`contract_sqlite.rs`, `contract_dynamo.rs`) with [`contract_suite!`]. `CONTRACT.md`
//! says the same in words.

#![allow(dead_code)]

pub mod fixtures;

use std::collections::HashSet;

use fixtures::*;
use replyline_domain::{
    Actor, AssignOnOutbound, ClosingNote, ConversationStatus, Direction, InboxView, MessageStatus,
    PageSize, ProfileFields, Sender, SortOrder, StatusFilter,
};
use replyline_policy::{Opener, Reason, ReplyMode};
use replyline_store::{
    ChannelFlag, EventAction, FaultPoint, FlagChange, MessageKey, SendOutcome, StoreError,
};

/// Generates one `#[tokio::test]` per contract test for the adapter that `$make` builds.
#[macro_export]
macro_rules! contract_suite {
    ($make:path) => {
        $crate::contract_suite!(@tests $make;
            inbound_creates_contact_conversation_and_message,
            inbound_fills_empty_profile_fields_only,
            redelivered_inbound_is_recorded_once,
            concurrent_deliveries_of_one_event_store_one_message,
            concurrent_first_messages_of_one_identity_create_one_contact,
            out_of_order_inbound_keeps_the_newest_window,
            inbound_resets_the_window_message_count,
            inbound_wakes_snoozed_and_reopens_closed,
            blocked_contact_inbound_is_kept_without_opening,
            non_message_event_opens_a_window_but_no_conversation,
            expired_window_state_reads_as_closed,
            channel_flags_set_and_clear,
            inbox_views_statuses_and_counts,
            snoozed_past_its_time_reads_as_open,
            search_is_partial_on_names_and_phone_exact_on_email,
            search_runs_inside_view_and_status,
            cursor_paging_returns_every_item_once,
            cursor_from_another_listing_is_rejected,
            contact_details_and_timeline,
            outbound_reopens_a_closed_contact_and_assigns_the_sender,
            outbound_assignment_follows_the_workspace_setting,
            refused_outbound_writes_nothing,
            outbound_to_a_channel_the_contact_is_not_on,
            outbound_is_idempotent_on_its_key,
            outbound_wakes_a_snoozed_conversation,
            concurrent_outbound_opens_one_conversation,
            concurrent_outbound_never_overspends_a_window_quota,
            paid_allowance_is_counted_per_channel_and_enforced,
            completing_outbound_records_the_provider_outcome,
            provider_refusal_closes_the_window_before_our_clock_does,
            provider_quota_refusal_exhausts_the_window_until_the_next_message,
            provider_refusals_only_move_forward_and_need_a_known_contact_channel,
            provider_refusal_on_expired_state_starts_afresh,
            provider_failure_reported_later_marks_our_message_failed,
            injected_failure_at_provider_failure_keeps_the_message_sent,
            commands_close_open_snooze_assign_block,
            closing_may_unassign,
            profile_update_reindexes_search,
            injected_failure_at_inbound_commit_leaves_nothing,
            injected_failure_between_inbound_steps_heals_on_redelivery,
            injected_failure_at_outbound_commit_leaves_nothing,
            injected_failure_at_command_commit_leaves_nothing,
            injected_failure_at_completion_keeps_the_message_pending,
        );
    };
    (@tests $make:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let h = $make().await;
                contract::$name(&h).await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------
// Inbound.
// ---------------------------------------------------------------------------------------

pub async fn inbound_creates_contact_conversation_and_message(h: &Harness) {
    let rec = message_from(
        "tg",
        "1111111",
        "u-1",
        profile(Some("Carlos"), Some("García"), None, None),
        t0(),
    );
    let out = record(h, &rec).await;
    assert!(!out.duplicate);
    assert!(out.contact_created);
    assert!(out.conversation_opened);
    assert!(out.window_moved);
    let conv_id = out
        .conversation_id
        .clone()
        .expect("a conversation was opened");
    let msg_id = out.message_id.clone().expect("a message was stored");

    let d = h.store.get_contact(&out.contact_id, t0()).await.unwrap();
    assert_eq!(d.contact.first_name.as_ref().unwrap().as_str(), "Carlos");
    assert_eq!(d.contact.last_name.as_ref().unwrap().as_str(), "García");
    assert_eq!(d.status, ConversationStatus::Open);
    assert_eq!(d.last_activity_at, t0());
    let conv = d.conversation.expect("current conversation");
    assert_eq!(conv.id, conv_id);
    assert_eq!(conv.status, ConversationStatus::Open);
    assert_eq!(conv.opened_by, Actor::Contact);
    assert_eq!(d.channels.len(), 1);
    let ch = &d.channels[0];
    assert_eq!(ch.identity.channel, chan("tg"));
    assert_eq!(ch.identity.external_id.as_str(), "1111111");
    assert_eq!(ch.state.last_inbound_at, Some(t0()));
    assert_eq!(ch.state.sent_since_inbound, 0);

    let timeline = h
        .store
        .list_messages(&out.contact_id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(timeline.items.len(), 1);
    let m = &timeline.items[0];
    assert_eq!(m.id, msg_id);
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.sender, Sender::Contact);
    assert_eq!(m.conversation_id, Some(conv_id.clone()));
    assert_eq!(m.content.text(), Some("hello"));
    assert_eq!(m.provider_message_id.as_deref(), Some("u-1"));
    assert_eq!(m.created_at, t0());

    let events = h.store.list_events(&out.contact_id).await.unwrap();
    assert!(
        matches!(
            events.as_slice(),
            [e] if e.actor == Actor::Contact
                && e.action == EventAction::Opened { conversation_id: conv_id.clone(), by_outbound: false }
        ),
        "{events:?}"
    );

    // The next message from the same identity joins the same contact and conversation.
    let out2 = record(
        h,
        &message("tg", "1111111", "u-2", "again", plus(t0(), mins(1))),
    )
    .await;
    assert_eq!(out2.contact_id, out.contact_id);
    assert!(!out2.contact_created);
    assert!(!out2.conversation_opened);
    assert_eq!(out2.conversation_id, Some(conv_id));
}

pub async fn inbound_fills_empty_profile_fields_only(h: &Harness) {
    let first = message_from(
        "sms",
        "+14155550100",
        "SM1",
        profile(None, None, None, Some("+14155550100")),
        t0(),
    );
    let id = record(h, &first).await.contact_id;
    let second = message_from(
        "sms",
        "+14155550100",
        "SM2",
        profile(
            Some("Ana"),
            None,
            Some("ana@example.com"),
            Some("+14155550199"),
        ),
        plus(t0(), mins(1)),
    );
    record(h, &second).await;
    let c = h.store.get_contact(&id, t0()).await.unwrap().contact;
    assert_eq!(c.first_name.unwrap().as_str(), "Ana");
    assert_eq!(c.email.unwrap().as_str(), "ana@example.com");
    // The phone was already set: a provider never overwrites it.
    assert_eq!(c.phone.unwrap().as_str(), "+14155550100");
}

pub async fn redelivered_inbound_is_recorded_once(h: &Harness) {
    let rec = message("tg", "42", "u-9", "once", t0());
    let first = record(h, &rec).await;
    let again = record(h, &rec).await;
    assert!(again.duplicate);
    assert!(!again.conversation_opened);
    assert_eq!(again.contact_id, first.contact_id);
    assert_eq!(again.message_id, first.message_id);
    assert_eq!(again.conversation_id, first.conversation_id);
    let t = h
        .store
        .list_messages(&first.contact_id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 1);
}

pub async fn concurrent_deliveries_of_one_event_store_one_message(h: &Harness) {
    let rec = message("tg", "77", "u-concurrent", "same", t0());
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = h.store.clone();
        let rec = rec.clone();
        tasks.push(tokio::spawn(
            async move { store.record_inbound(&rec).await },
        ));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().expect("every delivery is answered"));
    }
    assert_eq!(
        outcomes.iter().filter(|o| !o.duplicate).count(),
        1,
        "{outcomes:?}"
    );
    let contact = outcomes[0].contact_id.clone();
    assert!(outcomes.iter().all(|o| o.contact_id == contact));
    assert!(outcomes
        .iter()
        .all(|o| o.message_id == outcomes[0].message_id));
    let t = h
        .store
        .list_messages(&contact, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 1);
    let page = list(h, &inbox("alice", InboxView::All, StatusFilter::All, t0())).await;
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.counts.all, 1);
}

pub async fn concurrent_first_messages_of_one_identity_create_one_contact(h: &Harness) {
    let mut tasks = Vec::new();
    for i in 0..6 {
        let store = h.store.clone();
        let rec = message("tg", "88", &format!("u-{i}"), "burst", plus(t0(), mins(i)));
        tasks.push(tokio::spawn(
            async move { store.record_inbound(&rec).await },
        ));
    }
    let mut contacts = HashSet::new();
    let mut conversations = HashSet::new();
    for t in tasks {
        let o = t.await.unwrap().unwrap();
        contacts.insert(o.contact_id.clone());
        conversations.insert(o.conversation_id.clone());
    }
    assert_eq!(contacts.len(), 1, "one identity, one contact");
    assert_eq!(conversations.len(), 1, "one open conversation");
    let contact = contacts.into_iter().next().unwrap();
    let t = h
        .store
        .list_messages(&contact, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 6);
}

pub async fn out_of_order_inbound_keeps_the_newest_window(h: &Harness) {
    let newer = plus(t0(), hours(2));
    let id = record(h, &message("fb", "psid-1", "m-new", "newer", newer))
        .await
        .contact_id;
    let late = record(h, &message("fb", "psid-1", "m-old", "older", t0())).await;
    assert!(!late.duplicate, "an older message is still stored");
    assert!(!late.window_moved, "but it does not move the window back");
    let d = h.store.get_contact(&id, newer).await.unwrap();
    assert_eq!(d.channels[0].state.last_inbound_at, Some(newer));
    assert_eq!(
        d.last_activity_at, newer,
        "activity does not move back either"
    );
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    let texts: Vec<_> = t
        .items
        .iter()
        .map(|m| m.content.text().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["newer", "older"], "newest first by message time");
}

pub async fn inbound_resets_the_window_message_count(h: &Harness) {
    let id = contact_on(h, "wc", "openid-1", t0()).await;
    for i in 0..3 {
        h.store
            .begin_outbound(&send(
                &id,
                "wc",
                "alice",
                &format!("r{i}"),
                plus(t0(), mins(1)),
            ))
            .await
            .unwrap();
    }
    let d = h.store.get_contact(&id, plus(t0(), mins(2))).await.unwrap();
    assert_eq!(d.channels[0].state.sent_since_inbound, 3);
    record(
        h,
        &message("wc", "openid-1", "wc-2", "again", plus(t0(), mins(3))),
    )
    .await;
    let d = h.store.get_contact(&id, plus(t0(), mins(4))).await.unwrap();
    assert_eq!(d.channels[0].state.sent_since_inbound, 0);
}

pub async fn inbound_wakes_snoozed_and_reopens_closed(h: &Harness) {
    let first = record(h, &message("tg", "5", "u-a", "hi", t0())).await;
    let id = first.contact_id.clone();
    let c1 = first.conversation_id.unwrap();
    h.store
        .snooze(&id, plus(t0(), days(1)), &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    let woke = record(
        h,
        &message("tg", "5", "u-b", "still there?", plus(t0(), mins(5))),
    )
    .await;
    assert!(
        !woke.conversation_opened,
        "a snoozed conversation is woken, not replaced"
    );
    assert_eq!(woke.conversation_id, Some(c1.clone()));
    let d = h.store.get_contact(&id, plus(t0(), mins(6))).await.unwrap();
    assert_eq!(d.status, ConversationStatus::Open);
    assert_eq!(
        d.conversation.as_ref().unwrap().status,
        ConversationStatus::Open
    );

    h.store
        .close(&id, None, false, &ctx("alice", plus(t0(), mins(7))))
        .await
        .unwrap();
    let reopened = record(
        h,
        &message("tg", "5", "u-c", "new problem", plus(t0(), mins(9))),
    )
    .await;
    assert!(reopened.conversation_opened);
    let c2 = reopened.conversation_id.unwrap();
    assert_ne!(c2, c1, "a closed conversation is never reused");
    let d = h
        .store
        .get_contact(&id, plus(t0(), mins(10)))
        .await
        .unwrap();
    assert_eq!(d.conversation.unwrap().id, c2);
}

pub async fn blocked_contact_inbound_is_kept_without_opening(h: &Harness) {
    let id = contact_on(h, "tg", "6", t0()).await;
    h.store
        .close(&id, None, false, &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    h.store
        .set_blocked(&id, true, &ctx("alice", plus(t0(), mins(2))))
        .await
        .unwrap();
    let out = record(
        h,
        &message("tg", "6", "u-blocked", "let me in", plus(t0(), mins(3))),
    )
    .await;
    assert!(!out.conversation_opened);
    assert!(out.message_id.is_some(), "nothing is lost");
    let d = h.store.get_contact(&id, plus(t0(), mins(4))).await.unwrap();
    assert_eq!(d.status, ConversationStatus::Closed);
    assert!(d.contact.blocked);
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 2);
}

pub async fn non_message_event_opens_a_window_but_no_conversation(h: &Harness) {
    let mut follow = message("wc", "openid-9", "wc-follow-1", "x", t0());
    follow.opener = Opener::Follow;
    follow.content = None;
    let out = record(h, &follow).await;
    assert!(out.contact_created);
    assert!(!out.conversation_opened);
    assert!(out.message_id.is_none());
    assert!(out.window_moved);
    let d = h.store.get_contact(&out.contact_id, t0()).await.unwrap();
    assert_eq!(
        d.status,
        ConversationStatus::Closed,
        "no conversation yet reads as closed"
    );
    assert!(d.conversation.is_none());
    let st = &d.channels[0].state;
    assert_eq!(st.last_inbound_at, None);
    assert_eq!(
        st.last_opener.map(|e| (e.opener, e.at)),
        Some((Opener::Follow, t0()))
    );
}

pub async fn expired_window_state_reads_as_closed(h: &Harness) {
    // WhatsApp state matters for 24 h; the store keeps it a margin longer, then forgets it.
    let id = contact_on(h, "wa", "972544401243", t0()).await;
    let soon = h
        .store
        .get_contact(&id, plus(t0(), hours(30)))
        .await
        .unwrap();
    assert_eq!(soon.channels[0].state.last_inbound_at, Some(t0()));
    let much_later = plus(t0(), days(60));
    let d = h.store.get_contact(&id, much_later).await.unwrap();
    assert_eq!(
        d.channels[0].state.last_inbound_at, None,
        "expired state reads as absent"
    );
    assert_eq!(d.channels[0].state.sent_since_inbound, 0);
    // A send at that time decides on the expired state: only templates.
    let err = h
        .store
        .begin_outbound(&send(&id, "wa", "alice", "hi", much_later))
        .await
        .unwrap_err();
    match err {
        StoreError::Refused(d) => {
            assert_eq!(d.reason, Reason::TemplateRequired);
            assert_eq!(d.status.mode, ReplyMode::TemplateOnly);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A new message revives it.
    record(
        h,
        &message("wa", "972544401243", "wamid.2", "back", much_later),
    )
    .await;
    let d = h.store.get_contact(&id, much_later).await.unwrap();
    assert_eq!(d.channels[0].state.last_inbound_at, Some(much_later));
}

pub async fn channel_flags_set_and_clear(h: &Harness) {
    let id = contact_on(h, "sms", "+14155550111", t0()).await;
    let stop = FlagChange {
        channel: chan("sms"),
        external_id: replyline_domain::ExternalId::parse("+14155550111").unwrap(),
        flag: ChannelFlag::OptedOut,
        value: true,
        at: plus(t0(), mins(1)),
    };
    h.store.set_channel_flag(&stop).await.unwrap();
    let d = h.store.get_contact(&id, plus(t0(), mins(2))).await.unwrap();
    assert!(d.channels[0].state.opted_out);
    let err = h
        .store
        .begin_outbound(&send(&id, "sms", "alice", "hi", plus(t0(), mins(2))))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(d) if d.reason == Reason::OptedOut),
        "{err:?}"
    );
    h.store
        .set_channel_flag(&FlagChange {
            value: false,
            ..stop.clone()
        })
        .await
        .unwrap();
    let d = h.store.get_contact(&id, plus(t0(), mins(3))).await.unwrap();
    assert!(!d.channels[0].state.opted_out);
    let unknown = FlagChange {
        external_id: replyline_domain::ExternalId::parse("+10000000000").unwrap(),
        ..stop
    };
    assert!(matches!(
        h.store.set_channel_flag(&unknown).await,
        Err(StoreError::NotFound { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Inbox.
// ---------------------------------------------------------------------------------------

/// Five contacts: open+alice, open+unassigned, closed+alice, closed+bob, snoozed+alice.
async fn five_contacts(h: &Harness) -> [replyline_domain::ContactId; 5] {
    let mut ids = Vec::new();
    for (i, name) in [
        "Open Alice",
        "Open Nobody",
        "Closed Alice",
        "Closed Bob",
        "Snoozed Alice",
    ]
    .iter()
    .enumerate()
    {
        let (first, last) = name.split_once(' ').unwrap();
        let rec = message_from(
            "tg",
            &format!("10{i}"),
            &format!("u-five-{i}"),
            profile(Some(first), Some(last), None, None),
            plus(t0(), mins(i as u64)),
        );
        ids.push(record(h, &rec).await.contact_id);
    }
    let later = plus(t0(), mins(10));
    let c = |who: &str| ctx(who, later);
    h.store
        .assign(&ids[0], Some(agent("alice")), &c("alice"))
        .await
        .unwrap();
    h.store
        .assign(&ids[2], Some(agent("alice")), &c("alice"))
        .await
        .unwrap();
    h.store
        .close(&ids[2], None, false, &c("alice"))
        .await
        .unwrap();
    h.store
        .assign(&ids[3], Some(agent("bob")), &c("bob"))
        .await
        .unwrap();
    h.store
        .close(&ids[3], None, false, &c("bob"))
        .await
        .unwrap();
    h.store
        .assign(&ids[4], Some(agent("alice")), &c("alice"))
        .await
        .unwrap();
    h.store
        .snooze(&ids[4], plus(t0(), days(1)), &c("alice"))
        .await
        .unwrap();
    ids.try_into().unwrap()
}

pub async fn inbox_views_statuses_and_counts(h: &Harness) {
    let ids = five_contacts(h).await;
    let now = plus(t0(), hours(1));
    let check = |view, status, want: Vec<usize>| {
        let want: Vec<_> = want.into_iter().map(|i| ids[i].clone()).collect();
        (inbox("alice", view, status, now), want)
    };
    let cases = [
        check(InboxView::Mine, StatusFilter::Open, vec![0]),
        check(InboxView::Mine, StatusFilter::Closed, vec![2]),
        check(InboxView::Mine, StatusFilter::Snoozed, vec![4]),
        check(InboxView::Mine, StatusFilter::All, vec![4, 2, 0]),
        check(InboxView::Unassigned, StatusFilter::Open, vec![1]),
        check(InboxView::Unassigned, StatusFilter::Closed, vec![]),
        check(InboxView::All, StatusFilter::Open, vec![1, 0]),
        check(InboxView::All, StatusFilter::Closed, vec![3, 2]),
        check(InboxView::All, StatusFilter::All, vec![4, 3, 2, 1, 0]),
    ];
    for (q, want) in cases {
        let page = list(h, &q).await;
        assert_eq!(row_ids(&page), want, "{:?} {:?}", q.view, q.status);
    }
    // Oldest first reverses the order.
    let mut q = inbox("alice", InboxView::All, StatusFilter::All, now);
    q.sort = SortOrder::Oldest;
    let expect: Vec<_> = ids.to_vec();
    assert_eq!(row_ids(&list(h, &q).await), expect);

    // Counts are per view for the requested status, whatever view is listed.
    let counts = |status| async move {
        list(h, &inbox("alice", InboxView::Unassigned, status, now))
            .await
            .counts
    };
    let open = counts(StatusFilter::Open).await;
    assert_eq!((open.mine, open.unassigned, open.all), (1, 1, 2));
    let closed = counts(StatusFilter::Closed).await;
    assert_eq!((closed.mine, closed.unassigned, closed.all), (1, 0, 2));
    let snoozed = counts(StatusFilter::Snoozed).await;
    assert_eq!((snoozed.mine, snoozed.unassigned, snoozed.all), (1, 0, 1));
    let all = counts(StatusFilter::All).await;
    assert_eq!((all.mine, all.unassigned, all.all), (3, 1, 5));

    // Rows carry what the inbox shows.
    let page = list(
        h,
        &inbox("alice", InboxView::Mine, StatusFilter::Closed, now),
    )
    .await;
    let row = &page.items[0];
    assert_eq!(row.status, ConversationStatus::Closed);
    assert_eq!(row.contact.assignee, Some(agent("alice")));
    assert_eq!(
        row.conversation.as_ref().unwrap().status,
        ConversationStatus::Closed
    );
    assert_eq!(
        row.last_message.as_ref().unwrap().preview.as_deref(),
        Some("hello")
    );
    assert_eq!(row.channels.len(), 1);
    assert_eq!(row.channels[0].identity.channel, chan("tg"));
}

pub async fn snoozed_past_its_time_reads_as_open(h: &Harness) {
    let ids = five_contacts(h).await;
    let after_wake = plus(t0(), days(2));
    let open = list(
        h,
        &inbox("alice", InboxView::Mine, StatusFilter::Open, after_wake),
    )
    .await;
    assert_eq!(
        ids_set(&open),
        HashSet::from([ids[0].clone(), ids[4].clone()])
    );
    assert_eq!(open.counts.mine, 2);
    let snoozed = list(
        h,
        &inbox("alice", InboxView::All, StatusFilter::Snoozed, after_wake),
    )
    .await;
    assert!(snoozed.items.is_empty());
    assert_eq!(snoozed.counts.all, 0);
    let row = open.items.iter().find(|i| i.contact.id == ids[4]).unwrap();
    assert_eq!(row.status, ConversationStatus::Open);
    let d = h.store.get_contact(&ids[4], after_wake).await.unwrap();
    assert_eq!(d.status, ConversationStatus::Open);
}

fn ids_set(page: &replyline_store::InboxPage) -> HashSet<replyline_domain::ContactId> {
    row_ids(page).into_iter().collect()
}

/// Contacts named as the product document's example: "car" finds Carlos, Scarlet, Oscar.
async fn searchable_contacts(h: &Harness) -> Vec<replyline_domain::ContactId> {
    let people = [
        (
            Some("Carlos"),
            Some("García"),
            None,
            Some("+34 600 111 222"),
        ),
        (
            Some("Scarlet"),
            Some("Johansson"),
            Some("scarlet@example.com"),
            None,
        ),
        (Some("Óscar"), Some("Núñez"), None, None),
        (Some("Marta"), Some("Carrasco"), None, None),
        (
            None,
            None,
            Some("Lee.Anne@Example.org"),
            Some("+1 415 555 0100"),
        ),
        (Some("Bob"), None, None, None),
    ];
    let mut ids = Vec::new();
    for (i, (first, last, email, phone)) in people.into_iter().enumerate() {
        let rec = message_from(
            "tg",
            &format!("20{i}"),
            &format!("u-search-{i}"),
            profile(first, last, email, phone),
            plus(t0(), mins(i as u64)),
        );
        ids.push(record(h, &rec).await.contact_id);
    }
    ids
}

pub async fn search_is_partial_on_names_and_phone_exact_on_email(h: &Harness) {
    let ids = searchable_contacts(h).await;
    let now = plus(t0(), hours(1));
    let find = |q: &str| {
        let q = searching(inbox("alice", InboxView::All, StatusFilter::All, now), q);
        async move { ids_set(&list(h, &q).await) }
    };
    let set = |is: &[usize]| is.iter().map(|i| ids[*i].clone()).collect::<HashSet<_>>();
    assert_eq!(
        find("car").await,
        set(&[0, 1, 2, 3]),
        "first or last name, anywhere in it"
    );
    assert_eq!(find("CAR").await, set(&[0, 1, 2, 3]));
    assert_eq!(find("oscar").await, set(&[2]), "accents are folded");
    assert_eq!(find("garcia").await, set(&[0]));
    assert_eq!(
        find("carlos gar").await,
        set(&[0]),
        "every word must match a name"
    );
    assert_eq!(find("600 111").await, set(&[0]), "phone digits, partial");
    assert_eq!(
        find("555 01").await,
        set(&[4]),
        "a contact without names is found by phone"
    );
    assert_eq!(
        find("lee.anne@example.org").await,
        set(&[4]),
        "email, case-insensitive"
    );
    assert_eq!(find("LEE.ANNE@example.ORG").await, set(&[4]));
    assert_eq!(
        find("lee.anne@example.or").await,
        set(&[]),
        "email is exact, never partial"
    );
    assert_eq!(find("zz").await, set(&[]));
    // Counts follow the search.
    let q = searching(
        inbox("alice", InboxView::All, StatusFilter::All, now),
        "car",
    );
    let page = list(h, &q).await;
    assert_eq!(page.counts.all, 4);
    assert_eq!(page.counts.unassigned, 4);
    assert_eq!(page.counts.mine, 0);
}

pub async fn search_runs_inside_view_and_status(h: &Harness) {
    let ids = searchable_contacts(h).await;
    let later = plus(t0(), hours(1));
    h.store
        .assign(&ids[0], Some(agent("alice")), &ctx("alice", later))
        .await
        .unwrap();
    h.store
        .close(&ids[0], None, false, &ctx("alice", later))
        .await
        .unwrap();
    // The product story: Mine > Closed > search by a partial name.
    let q = searching(
        inbox("alice", InboxView::Mine, StatusFilter::Closed, later),
        "carl",
    );
    assert_eq!(row_ids(&list(h, &q).await), vec![ids[0].clone()]);
    let q = searching(
        inbox("alice", InboxView::Mine, StatusFilter::Open, later),
        "carl",
    );
    assert!(list(h, &q).await.items.is_empty());
    let q = searching(
        inbox("bob", InboxView::All, StatusFilter::Closed, later),
        "car",
    );
    assert_eq!(row_ids(&list(h, &q).await), vec![ids[0].clone()]);
}

pub async fn cursor_paging_returns_every_item_once(h: &Harness) {
    let mut created = Vec::new();
    for i in 0..23u64 {
        let rec = message_from(
            "tg",
            &format!("30{i}"),
            &format!("u-page-{i}"),
            profile(Some(&format!("Carla{i}")), None, None, None),
            // Some share an instant, so the tie-break matters.
            plus(t0(), mins(i / 2)),
        );
        created.push(record(h, &rec).await.contact_id);
    }
    let now = plus(t0(), hours(1));
    for sort in [SortOrder::Newest, SortOrder::Oldest] {
        for search in [None, Some("carla")] {
            let mut q = inbox("alice", InboxView::All, StatusFilter::Open, now);
            q.sort = sort;
            q.limit = PageSize::new(5).unwrap();
            if let Some(s) = search {
                q = searching(q, s);
            }
            let first = list(h, &q).await;
            assert_eq!(first.items.len(), 5);
            assert!(first.next_cursor.is_some());
            let seen = all_pages(h, &q).await;
            assert_eq!(seen.len(), 23, "{sort:?} {search:?}");
            let unique: HashSet<_> = seen.iter().cloned().collect();
            assert_eq!(unique.len(), 23, "no item twice ({sort:?} {search:?})");
            // In activity order.
            let newest_first = sort == SortOrder::Newest;
            let mut expected = created.clone();
            if newest_first {
                expected.reverse();
            }
            let pos = |id| expected.iter().position(|e| e == id).unwrap() as i64;
            for w in seen.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                // Same-instant pairs may come in either order; others must follow time.
                let (ia, ib) = (pos(a), pos(b));
                assert!(
                    ib > ia || (ia - ib) <= 1,
                    "order broken at {a} {b} ({sort:?})"
                );
            }
        }
    }
}

pub async fn cursor_from_another_listing_is_rejected(h: &Harness) {
    for i in 0..3 {
        contact_on(h, "tg", &format!("40{i}"), plus(t0(), mins(i))).await;
    }
    let now = plus(t0(), hours(1));
    let mut q = inbox("alice", InboxView::All, StatusFilter::Open, now);
    q.limit = PageSize::new(1).unwrap();
    let cursor = list(h, &q).await.next_cursor.expect("more pages");
    let mut other = inbox("alice", InboxView::All, StatusFilter::Closed, now);
    other.cursor = Some(cursor.clone());
    assert!(matches!(
        h.store.list_inbox(&other).await,
        Err(StoreError::InvalidCursor(_))
    ));
    let mut other_agent = q.clone();
    other_agent.agent = agent("bob");
    other_agent.cursor = Some(cursor);
    assert!(matches!(
        h.store.list_inbox(&other_agent).await,
        Err(StoreError::InvalidCursor(_))
    ));
    let mut garbage = q.clone();
    garbage.cursor = Some(replyline_domain::Cursor::parse("bm90LWEtY3Vyc29y").unwrap());
    assert!(matches!(
        h.store.list_inbox(&garbage).await,
        Err(StoreError::InvalidCursor(_))
    ));
}

pub async fn contact_details_and_timeline(h: &Harness) {
    let id = contact_on(h, "tg", "50", t0()).await;
    // The same person on a second channel is a second contact unless merged (not in scope).
    for i in 1..=11u64 {
        record(
            h,
            &message(
                "tg",
                "50",
                &format!("u-tl-{i}"),
                &format!("m{i}"),
                plus(t0(), mins(i)),
            ),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = h
            .store
            .list_messages(&id, PageSize::new(4).unwrap(), cursor.as_ref())
            .await
            .unwrap();
        seen.extend(
            page.items
                .iter()
                .map(|m| m.content.text().unwrap().to_owned()),
        );
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let want: Vec<String> = (1..=11)
        .rev()
        .map(|i| format!("m{i}"))
        .chain(["hi".to_owned()])
        .collect();
    assert_eq!(seen, want);
    let missing = replyline_domain::ContactId::generate(t0());
    assert!(matches!(
        h.store.get_contact(&missing, t0()).await,
        Err(StoreError::NotFound { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// Outbound.
// ---------------------------------------------------------------------------------------

pub async fn outbound_reopens_a_closed_contact_and_assigns_the_sender(h: &Harness) {
    let id = contact_on(h, "tg", "60", t0()).await;
    h.store
        .close(&id, None, false, &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    let now = plus(t0(), days(3));
    let begun = h
        .store
        .begin_outbound(&send(&id, "tg", "alice", "Any news?", now))
        .await
        .unwrap();
    assert!(begun.conversation_opened);
    assert!(!begun.replayed);
    assert_eq!(begun.assignee, Some(agent("alice")));
    assert_eq!(begun.conversation.status, ConversationStatus::Open);
    assert_eq!(begun.conversation.opened_by, Actor::Agent(agent("alice")));
    assert_eq!(begun.message.status, MessageStatus::Pending);
    assert_eq!(begun.message.direction, Direction::Outbound);
    assert_eq!(
        begun.message.conversation_id,
        Some(begun.conversation.id.clone())
    );
    assert!(begun.decision.as_ref().unwrap().is_allowed());

    let d = h.store.get_contact(&id, now).await.unwrap();
    assert_eq!(d.status, ConversationStatus::Open);
    assert_eq!(d.contact.assignee, Some(agent("alice")));
    assert_eq!(d.last_activity_at, now);
    assert_eq!(d.channels[0].state.sent_since_inbound, 1);
    let mine_open = list(h, &inbox("alice", InboxView::Mine, StatusFilter::Open, now)).await;
    assert_eq!(row_ids(&mine_open), vec![id.clone()]);
    assert_eq!(
        mine_open.items[0]
            .last_message
            .as_ref()
            .unwrap()
            .preview
            .as_deref(),
        Some("Any news?")
    );
    let events = h.store.list_events(&id).await.unwrap();
    assert!(events.iter().any(|e| e.action
        == EventAction::Opened {
            conversation_id: begun.conversation.id.clone(),
            by_outbound: true
        }
        && e.actor == Actor::Agent(agent("alice"))));
    assert!(events.iter().any(|e| e.action
        == EventAction::Assigned {
            agent: Some(agent("alice"))
        }));

    // A second message in the now open conversation opens nothing new.
    let again = h
        .store
        .begin_outbound(&send(&id, "tg", "alice", "Ping", plus(now, mins(1))))
        .await
        .unwrap();
    assert!(!again.conversation_opened);
    assert_eq!(again.conversation.id, begun.conversation.id);
}

pub async fn outbound_assignment_follows_the_workspace_setting(h: &Harness) {
    let id = contact_on(h, "tg", "61", t0()).await;
    let now = plus(t0(), mins(5));
    h.store
        .assign(&id, Some(agent("bob")), &ctx("bob", now))
        .await
        .unwrap();
    let mut req = send(&id, "tg", "alice", "I can help too", now);
    req.assign = AssignOnOutbound::IfUnassigned;
    let begun = h.store.begin_outbound(&req).await.unwrap();
    assert_eq!(
        begun.assignee,
        Some(agent("bob")),
        "if_unassigned keeps bob"
    );
    let mut req = send(&id, "tg", "alice", "Taking over", plus(now, mins(1)));
    req.assign = AssignOnOutbound::Always;
    let begun = h.store.begin_outbound(&req).await.unwrap();
    assert_eq!(
        begun.assignee,
        Some(agent("alice")),
        "always assigns the sender"
    );
    // Automation never takes the assignment.
    let mut req = send(&id, "tg", "alice", "Automated reminder", plus(now, mins(2)));
    req.sender = Sender::Automation;
    let begun = h.store.begin_outbound(&req).await.unwrap();
    assert_eq!(begun.assignee, Some(agent("alice")));
}

pub async fn refused_outbound_writes_nothing(h: &Harness) {
    let id = contact_on(h, "wa", "972500000001", t0()).await;
    h.store
        .close(&id, None, false, &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    let before = h
        .store
        .get_contact(&id, plus(t0(), hours(30)))
        .await
        .unwrap();
    let events_before = h.store.list_events(&id).await.unwrap().len();
    let err = h
        .store
        .begin_outbound(&send(
            &id,
            "wa",
            "alice",
            "Hello again",
            plus(t0(), hours(30)),
        ))
        .await
        .unwrap_err();
    let StoreError::Refused(decision) = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(decision.reason, Reason::TemplateRequired);
    assert!(decision.explain().contains("approved template"));
    let after = h
        .store
        .get_contact(&id, plus(t0(), hours(30)))
        .await
        .unwrap();
    assert_eq!(after, before, "no conversation, no assignment, no counter");
    assert_eq!(h.store.list_events(&id).await.unwrap().len(), events_before);
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 1, "only the customer's message");

    // A template is allowed and reopens.
    let mut req = send(&id, "wa", "alice", "unused", plus(t0(), hours(30)));
    req.content = template("order_update");
    let begun = h.store.begin_outbound(&req).await.unwrap();
    assert!(begun.conversation_opened);

    // A blocked contact is refused before anything else.
    let blocked = contact_on(h, "tg", "62", t0()).await;
    h.store
        .set_blocked(&blocked, true, &ctx("alice", t0()))
        .await
        .unwrap();
    let err = h
        .store
        .begin_outbound(&send(&blocked, "tg", "alice", "hi", t0()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(d) if d.reason == Reason::ContactBlocked),
        "{err:?}"
    );
}

pub async fn outbound_to_a_channel_the_contact_is_not_on(h: &Harness) {
    let id = contact_on(h, "tg", "63", t0()).await;
    let err = h
        .store
        .begin_outbound(&send(&id, "sms", "alice", "hi", t0()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotOnChannel { .. }), "{err:?}");
    let missing = replyline_domain::ContactId::generate(t0());
    let err = h
        .store
        .begin_outbound(&send(&missing, "tg", "alice", "hi", t0()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn outbound_is_idempotent_on_its_key(h: &Harness) {
    let id = contact_on(h, "tg", "64", t0()).await;
    let req = with_key(
        send(&id, "tg", "alice", "Once only", plus(t0(), mins(1))),
        "key-1",
    );
    let first = h.store.begin_outbound(&req).await.unwrap();
    let again = h.store.begin_outbound(&req).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.message.id, first.message.id);
    assert!(again.decision.is_none());
    let d = h.store.get_contact(&id, plus(t0(), mins(2))).await.unwrap();
    assert_eq!(d.channels[0].state.sent_since_inbound, 1, "counted once");
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 2);
    // The replay reports the message as it is now.
    h.store
        .complete_outbound(
            &MessageKey::of(&first.message),
            &SendOutcome::Sent {
                provider_message_id: "p-1".into(),
            },
            plus(t0(), mins(1)),
        )
        .await
        .unwrap();
    let replay = h.store.begin_outbound(&req).await.unwrap();
    assert!(matches!(replay.message.status, MessageStatus::Sent { .. }));
    // The same key for another message is a client bug.
    let other = with_key(
        send(&id, "tg", "alice", "Something else", plus(t0(), mins(3))),
        "key-1",
    );
    assert!(matches!(
        h.store.begin_outbound(&other).await,
        Err(StoreError::IdempotencyMismatch(_))
    ));
}

pub async fn outbound_wakes_a_snoozed_conversation(h: &Harness) {
    let first = record(h, &message("tg", "67", "u-sn", "hi", t0())).await;
    let id = first.contact_id.clone();
    h.store
        .snooze(&id, plus(t0(), days(3)), &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    let now = plus(t0(), hours(1));
    let begun = h
        .store
        .begin_outbound(&send(&id, "tg", "alice", "Back on it", now))
        .await
        .unwrap();
    assert!(
        !begun.conversation_opened,
        "the snoozed conversation is reused"
    );
    assert_eq!(Some(begun.conversation.id.clone()), first.conversation_id);
    assert_eq!(begun.conversation.status, ConversationStatus::Open);
    let d = h.store.get_contact(&id, now).await.unwrap();
    assert_eq!(d.status, ConversationStatus::Open);
    assert_eq!(d.conversation.unwrap().snoozed_until, None);
    let snoozed = list(
        h,
        &inbox("alice", InboxView::All, StatusFilter::Snoozed, now),
    )
    .await;
    assert!(snoozed.items.is_empty());
    assert_eq!(snoozed.counts.all, 0);
    // Waking records who woke it, like an inbound message does.
    let wakes: Vec<_> = h
        .store
        .list_events(&id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.action, EventAction::Opened { conversation_id, .. } if Some(conversation_id) == first.conversation_id.as_ref()))
        .map(|e| e.actor)
        .collect();
    assert_eq!(
        wakes,
        [Actor::Contact, Actor::Agent(agent("alice"))],
        "opened by the message, woken by the send"
    );
}

pub async fn concurrent_outbound_opens_one_conversation(h: &Harness) {
    let id = contact_on(h, "tg", "65", t0()).await;
    h.store
        .close(&id, None, false, &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    let now = plus(t0(), days(1));
    let a = {
        let store = h.store.clone();
        let req = send(&id, "tg", "alice", "from alice", now);
        tokio::spawn(async move { store.begin_outbound(&req).await })
    };
    let b = {
        let store = h.store.clone();
        let req = send(&id, "tg", "bob", "from bob", now);
        tokio::spawn(async move { store.begin_outbound(&req).await })
    };
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert_eq!(
        a.conversation.id, b.conversation.id,
        "exactly one conversation"
    );
    assert_eq!(
        [a.conversation_opened, b.conversation_opened]
            .iter()
            .filter(|o| **o)
            .count(),
        1
    );
    let d = h.store.get_contact(&id, now).await.unwrap();
    assert_eq!(d.status, ConversationStatus::Open);
    assert_eq!(d.channels[0].state.sent_since_inbound, 2);
    let opened = h
        .store
        .list_events(&id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            matches!(
                e.action,
                EventAction::Opened {
                    by_outbound: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(opened, 1);
}

pub async fn concurrent_outbound_never_overspends_a_window_quota(h: &Harness) {
    // WeChat: 5 messages per window.
    let id = contact_on(h, "wc", "openid-q", t0()).await;
    let now = plus(t0(), hours(1));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = h.store.clone();
        let req = send(
            &id,
            "wc",
            if i % 2 == 0 { "alice" } else { "bob" },
            &format!("q{i}"),
            now,
        );
        tasks.push(tokio::spawn(
            async move { store.begin_outbound(&req).await },
        ));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Refused(d)) => {
                assert_eq!(d.reason, Reason::QuotaExhausted);
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, refused), (5, 3));
    let d = h.store.get_contact(&id, now).await.unwrap();
    assert_eq!(d.channels[0].state.sent_since_inbound, 5);
}

pub async fn paid_allowance_is_counted_per_channel_and_enforced(h: &Harness) {
    let a = contact_on(h, "vb", "viber-a==", t0()).await;
    let b = contact_on(h, "vb", "viber-b==", t0()).await;
    let rules = rules_with("vb", "initiated_allowance_per_month = 2");
    let now = plus(t0(), days(2)); // outside the 24 h session: paid
    let paid = |id: &replyline_domain::ContactId, body: &str| {
        let mut req = send(id, "vb", "alice", body, now);
        req.rules = rules.clone();
        req
    };
    let first = h.store.begin_outbound(&paid(&a, "p1")).await.unwrap();
    assert!(first.message.paid);
    assert!(first.decision.as_ref().unwrap().is_paid());
    h.store.begin_outbound(&paid(&b, "p2")).await.unwrap();
    // The allowance is the channel's, not the contact's: both contacts used it up.
    let err = h.store.begin_outbound(&paid(&a, "p3")).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(d) if d.reason == Reason::QuotaExhausted),
        "{err:?}"
    );
    let d = h.store.get_contact(&a, now).await.unwrap();
    let count = d.channels[0].state.paid_sent.map(|c| (c.month, c.count));
    assert_eq!(count, Some((now.month(), 2)));
    // Next month the allowance is back.
    let next_month = at("2026-12-01T00:00:01Z");
    let mut req = paid(&a, "p4");
    req.now = next_month;
    assert!(h.store.begin_outbound(&req).await.unwrap().message.paid);
    // Inside the session nothing is paid.
    record(h, &message("vb", "viber-b==", "vb-2", "hi", next_month)).await;
    let mut req = paid(&b, "free");
    req.now = next_month;
    assert!(!h.store.begin_outbound(&req).await.unwrap().message.paid);
}

pub async fn completing_outbound_records_the_provider_outcome(h: &Harness) {
    let id = contact_on(h, "tg", "66", t0()).await;
    let sent = h
        .store
        .begin_outbound(&send(&id, "tg", "alice", "ok", plus(t0(), mins(1))))
        .await
        .unwrap();
    let key = MessageKey::of(&sent.message);
    let outcome = SendOutcome::Sent {
        provider_message_id: "tg-555".into(),
    };
    let m = h
        .store
        .complete_outbound(&key, &outcome, plus(t0(), mins(1)))
        .await
        .unwrap();
    assert_eq!(
        m.status,
        MessageStatus::Sent {
            provider_message_id: "tg-555".into()
        }
    );
    assert_eq!(m.provider_message_id.as_deref(), Some("tg-555"));
    // Again with the same outcome: a no-op.
    let m2 = h
        .store
        .complete_outbound(&key, &outcome, plus(t0(), mins(2)))
        .await
        .unwrap();
    assert_eq!(m2, m);
    // A different outcome after the fact is refused.
    let failed = SendOutcome::Failed {
        code: "403".into(),
        text: "Forbidden: bot was blocked by the user".into(),
    };
    assert!(matches!(
        h.store
            .complete_outbound(&key, &failed, plus(t0(), mins(3)))
            .await,
        Err(StoreError::NotPending { .. })
    ));

    let doomed = h
        .store
        .begin_outbound(&send(&id, "tg", "alice", "nope", plus(t0(), mins(4))))
        .await
        .unwrap();
    let m = h
        .store
        .complete_outbound(
            &MessageKey::of(&doomed.message),
            &failed,
            plus(t0(), mins(4)),
        )
        .await
        .unwrap();
    assert_eq!(
        m.status,
        MessageStatus::Failed {
            code: "403".into(),
            text: "Forbidden: bot was blocked by the user".into()
        }
    );
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert!(t
        .items
        .iter()
        .any(|x| x.id == doomed.message.id && x.status == m.status));
    let unknown = MessageKey {
        id: replyline_domain::MessageId::generate(t0()),
        ..key
    };
    assert!(matches!(
        h.store.complete_outbound(&unknown, &outcome, t0()).await,
        Err(StoreError::NotFound { .. })
    ));
}

// ---------------------------------------------------------------------------------------
// What providers report after the fact.
// ---------------------------------------------------------------------------------------

pub async fn provider_refusal_closes_the_window_before_our_clock_does(h: &Harness) {
    // WhatsApp: the contact wrote at t0, so our clock says the 24 h window is open until
    // t0 + 24 h; at t0 + 2 h the provider refused a send as outside it (131047).
    let id = contact_on(h, "wa", "972500000010", t0()).await;
    let now = plus(t0(), hours(3));
    assert!(h
        .store
        .begin_outbound(&send(&id, "wa", "alice", "before", plus(t0(), hours(1))))
        .await
        .is_ok());
    h.store
        .record_provider_refusal(&id, &chan("wa"), plus(t0(), hours(2)), false)
        .await
        .unwrap();

    let d = h.store.get_contact(&id, now).await.unwrap();
    let state = &d.channels[0].state;
    assert_eq!(state.provider_closed_at, Some(plus(t0(), hours(2))));
    assert_eq!(state.provider_exhausted_at, None);
    assert_eq!(
        state.last_inbound_at,
        Some(t0()),
        "the inbound time is kept"
    );
    assert_eq!(state.sent_since_inbound, 1, "the count is kept");
    let page = list(h, &inbox("alice", InboxView::All, StatusFilter::All, now)).await;
    let row = page.items.iter().find(|i| i.contact.id == id).unwrap();
    assert_eq!(row.channels, d.channels, "inbox rows show the same state");

    // Plain text is refused as the provider would; nothing is written.
    let before = h.store.get_contact(&id, now).await.unwrap();
    let err = h
        .store
        .begin_outbound(&send(&id, "wa", "alice", "Still there?", now))
        .await
        .unwrap_err();
    let StoreError::Refused(decision) = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(decision.reason, Reason::TemplateRequired);
    assert_eq!(h.store.get_contact(&id, now).await.unwrap(), before);
    // A template still goes.
    let mut req = send(&id, "wa", "alice", "unused", now);
    req.content = template("order_update");
    assert!(h.store.begin_outbound(&req).await.is_ok());

    // A new message from the contact opens a new window: free sending again, and the old
    // refusal, older than that window, no longer matters (it stays recorded).
    let back = plus(t0(), hours(4));
    record(
        h,
        &message("wa", "972500000010", "wamid.back", "back", back),
    )
    .await;
    let later = plus(back, mins(5));
    let d = h.store.get_contact(&id, later).await.unwrap();
    assert_eq!(d.channels[0].state.last_inbound_at, Some(back));
    assert_eq!(
        d.channels[0].state.provider_closed_at,
        Some(plus(t0(), hours(2)))
    );
    let begun = h
        .store
        .begin_outbound(&send(&id, "wa", "alice", "Welcome back", later))
        .await
        .unwrap();
    assert!(!begun.message.paid);
    assert_eq!(begun.decision.unwrap().status.mode, ReplyMode::Free);
}

pub async fn provider_quota_refusal_exhausts_the_window_until_the_next_message(h: &Harness) {
    // WeChat: 5 messages per 48 h window; after one, the provider says 45047 (over quota).
    let id = contact_on(h, "wc", "openid-refused", t0()).await;
    let first = plus(t0(), hours(1));
    h.store
        .begin_outbound(&send(&id, "wc", "alice", "one", first))
        .await
        .unwrap();
    h.store
        .record_provider_refusal(&id, &chan("wc"), plus(first, mins(1)), true)
        .await
        .unwrap();
    let now = plus(t0(), hours(2));
    let d = h.store.get_contact(&id, now).await.unwrap();
    assert_eq!(
        d.channels[0].state.provider_exhausted_at,
        Some(plus(first, mins(1)))
    );
    assert_eq!(d.channels[0].state.provider_closed_at, None);
    let err = h
        .store
        .begin_outbound(&send(&id, "wc", "alice", "two", now))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(d) if d.reason == Reason::QuotaExhausted),
        "{err:?}"
    );
    assert_eq!(
        h.store.get_contact(&id, now).await.unwrap().channels[0]
            .state
            .sent_since_inbound,
        1,
        "a refusal counts nothing"
    );

    // The contact writes again: a fresh window with its full quota.
    let back = plus(t0(), hours(3));
    record(h, &message("wc", "openid-refused", "wc-back", "hi", back)).await;
    for i in 0..5 {
        h.store
            .begin_outbound(&send(
                &id,
                "wc",
                "alice",
                &format!("m{i}"),
                plus(back, mins(1)),
            ))
            .await
            .unwrap();
    }
    let err = h
        .store
        .begin_outbound(&send(&id, "wc", "alice", "m5", plus(back, mins(2))))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Refused(d) if d.reason == Reason::QuotaExhausted),
        "{err:?}"
    );
}

pub async fn provider_refusals_only_move_forward_and_need_a_known_contact_channel(h: &Harness) {
    let id = contact_on(h, "wa", "972500000011", t0()).await;
    let wa = chan("wa");
    let at2 = plus(t0(), hours(2));
    h.store
        .record_provider_refusal(&id, &wa, at2, false)
        .await
        .unwrap();
    // Older or equal refusals (late or repeated reports) change nothing.
    h.store
        .record_provider_refusal(&id, &wa, plus(t0(), hours(1)), false)
        .await
        .unwrap();
    h.store
        .record_provider_refusal(&id, &wa, at2, false)
        .await
        .unwrap();
    let state = |d: replyline_store::ContactDetails| d.channels[0].state.clone();
    let now = plus(t0(), hours(5));
    let s = state(h.store.get_contact(&id, now).await.unwrap());
    assert_eq!(s.provider_closed_at, Some(at2));
    assert_eq!(s.provider_exhausted_at, None);
    // The two fields move independently.
    h.store
        .record_provider_refusal(&id, &wa, plus(t0(), hours(1)), true)
        .await
        .unwrap();
    h.store
        .record_provider_refusal(&id, &wa, plus(t0(), hours(4)), false)
        .await
        .unwrap();
    let s = state(h.store.get_contact(&id, now).await.unwrap());
    assert_eq!(s.provider_closed_at, Some(plus(t0(), hours(4))));
    assert_eq!(s.provider_exhausted_at, Some(plus(t0(), hours(1))));
    h.store
        .record_provider_refusal(&id, &wa, plus(t0(), mins(30)), true)
        .await
        .unwrap();
    let s = state(h.store.get_contact(&id, now).await.unwrap());
    assert_eq!(s.provider_exhausted_at, Some(plus(t0(), hours(1))));
    // A new inbound event leaves them alone.
    record(
        h,
        &message("wa", "972500000011", "wamid.n", "n", plus(t0(), hours(5))),
    )
    .await;
    let s = state(h.store.get_contact(&id, now).await.unwrap());
    assert_eq!(s.provider_closed_at, Some(plus(t0(), hours(4))));
    assert_eq!(s.provider_exhausted_at, Some(plus(t0(), hours(1))));
    assert_eq!(s.last_inbound_at, Some(plus(t0(), hours(5))));

    // Unknown contact; a channel the contact is not on.
    let unknown = replyline_domain::ContactId::generate(t0());
    assert!(matches!(
        h.store
            .record_provider_refusal(&unknown, &wa, now, false)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        h.store
            .record_provider_refusal(&id, &chan("wc"), now, true)
            .await,
        Err(StoreError::NotOnChannel { .. })
    ));
    assert_eq!(
        h.store.get_contact(&id, now).await.unwrap().channels.len(),
        1
    );
}

pub async fn provider_refusal_on_expired_state_starts_afresh(h: &Harness) {
    // Expired window state is absent: a refusal then is the only state there is.
    let id = contact_on(h, "wa", "972500000012", t0()).await;
    let much_later = plus(t0(), days(60));
    h.store
        .record_provider_refusal(&id, &chan("wa"), much_later, false)
        .await
        .unwrap();
    let s = h
        .store
        .get_contact(&id, plus(much_later, mins(1)))
        .await
        .unwrap()
        .channels[0]
        .state
        .clone();
    assert_eq!(s.last_inbound_at, None);
    assert_eq!(s.sent_since_inbound, 0);
    assert_eq!(s.provider_closed_at, Some(much_later));
    // A message revives the window as usual, the refusal before it notwithstanding.
    let back = plus(much_later, hours(1));
    record(h, &message("wa", "972500000012", "wamid.r", "back", back)).await;
    let begun = h
        .store
        .begin_outbound(&send(&id, "wa", "alice", "hello", plus(back, mins(1))))
        .await
        .unwrap();
    assert_eq!(begun.decision.unwrap().status.mode, ReplyMode::Free);
    let s = h
        .store
        .get_contact(&id, plus(back, mins(2)))
        .await
        .unwrap()
        .channels[0]
        .state
        .clone();
    assert_eq!(s.last_inbound_at, Some(back));
    assert_eq!(s.provider_closed_at, Some(much_later));
    assert_eq!(s.sent_since_inbound, 1);
}

pub async fn provider_failure_reported_later_marks_our_message_failed(h: &Harness) {
    let id = contact_on(h, "wa", "972500000020", t0()).await;
    let begun = h
        .store
        .begin_outbound(&send(&id, "wa", "alice", "Your order", plus(t0(), mins(1))))
        .await
        .unwrap();
    let key = MessageKey::of(&begun.message);
    h.store
        .complete_outbound(
            &key,
            &SendOutcome::Sent {
                provider_message_id: "wamid.X".into(),
            },
            plus(t0(), mins(1)),
        )
        .await
        .unwrap();

    let wa = chan("wa");
    let failed = MessageStatus::Failed {
        code: "131026".into(),
        text: "Message undeliverable".into(),
    };
    let m = h
        .store
        .fail_by_provider_id(
            &wa,
            "wamid.X",
            "131026",
            "Message undeliverable",
            plus(t0(), mins(2)),
        )
        .await
        .unwrap()
        .expect("our message");
    assert_eq!(m.id, begun.message.id);
    assert_eq!(m.status, failed);
    assert_eq!(m.provider_message_id.as_deref(), Some("wamid.X"));
    let timeline = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    let shown = timeline.items.iter().find(|x| x.id == m.id).unwrap();
    assert_eq!(shown, &m);

    // A repeated report: a no-op, the same message.
    let again = h
        .store
        .fail_by_provider_id(
            &wa,
            "wamid.X",
            "131026",
            "Message undeliverable",
            plus(t0(), mins(3)),
        )
        .await
        .unwrap();
    assert_eq!(again, Some(m.clone()));
    let timeline2 = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(timeline2, timeline);
    // It is no longer sent: completing it as sent again is refused.
    assert!(matches!(
        h.store
            .complete_outbound(
                &key,
                &SendOutcome::Sent {
                    provider_message_id: "wamid.X".into()
                },
                plus(t0(), mins(3)),
            )
            .await,
        Err(StoreError::NotPending { .. })
    ));

    // A later report with another code replaces the first.
    let replaced = h
        .store
        .fail_by_provider_id(
            &wa,
            "wamid.X",
            "131049",
            "Not delivered",
            plus(t0(), mins(4)),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        replaced.status,
        MessageStatus::Failed {
            code: "131049".into(),
            text: "Not delivered".into()
        }
    );
    assert_eq!(replaced.provider_message_id.as_deref(), Some("wamid.X"));

    // Unknown ids, the contact's own (inbound) message id, another channel: none of ours.
    for (channel, pid) in [
        ("wa", "wamid.unknown"),
        ("wa", "wa-972500000020-first"),
        ("tg", "wamid.X"),
    ] {
        assert_eq!(
            h.store
                .fail_by_provider_id(&chan(channel), pid, "131026", "x", plus(t0(), mins(4)))
                .await
                .unwrap(),
            None,
            "{channel}/{pid}"
        );
    }
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    let inbound = t
        .items
        .iter()
        .find(|x| x.direction == Direction::Inbound)
        .unwrap();
    assert!(matches!(inbound.status, MessageStatus::Sent { .. }));
}

pub async fn injected_failure_at_provider_failure_keeps_the_message_sent(h: &Harness) {
    let id = contact_on(h, "wa", "972500000021", t0()).await;
    let begun = h
        .store
        .begin_outbound(&send(&id, "wa", "alice", "hi", plus(t0(), mins(1))))
        .await
        .unwrap();
    let sent = h
        .store
        .complete_outbound(
            &MessageKey::of(&begun.message),
            &SendOutcome::Sent {
                provider_message_id: "wamid.Y".into(),
            },
            plus(t0(), mins(1)),
        )
        .await
        .unwrap();
    h.faults.fail_next(FaultPoint::CompleteCommit);
    let wa = chan("wa");
    assert!(h
        .store
        .fail_by_provider_id(
            &wa,
            "wamid.Y",
            "131049",
            "Not delivered",
            plus(t0(), mins(2))
        )
        .await
        .is_err());
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items[0], sent, "still sent");
    let m = h
        .store
        .fail_by_provider_id(
            &wa,
            "wamid.Y",
            "131049",
            "Not delivered",
            plus(t0(), mins(3)),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(&m.status, MessageStatus::Failed { code, .. } if code == "131049"));
}

// ---------------------------------------------------------------------------------------
// Commands.
// ---------------------------------------------------------------------------------------

pub async fn commands_close_open_snooze_assign_block(h: &Harness) {
    let id = contact_on(h, "tg", "70", t0()).await;
    let at_ = |m| ctx("alice", plus(t0(), mins(m)));

    let note = ClosingNote {
        category: Some("resolved".into()),
        summary: Some("Refund sent".into()),
    };
    let closed = h
        .store
        .close(&id, Some(note.clone()), false, &at_(1))
        .await
        .unwrap();
    assert!(closed.changed);
    let conv = closed.conversation.unwrap();
    assert_eq!(conv.status, ConversationStatus::Closed);
    assert_eq!(conv.closed_by, Some(Actor::Agent(agent("alice"))));
    assert_eq!(conv.closed_at, Some(plus(t0(), mins(1))));
    assert_eq!(conv.closing_note, Some(note));
    assert!(matches!(
        h.store.close(&id, None, false, &at_(2)).await,
        Err(StoreError::NoOpenConversation(_))
    ));
    assert!(matches!(
        h.store.snooze(&id, plus(t0(), days(1)), &at_(2)).await,
        Err(StoreError::NoOpenConversation(_))
    ));

    let opened = h.store.open(&id, &at_(3)).await.unwrap();
    assert!(opened.changed);
    let conv2 = opened.conversation.unwrap();
    assert_ne!(conv2.id, conv.id);
    assert_eq!(conv2.opened_by, Actor::Agent(agent("alice")));
    assert!(
        !h.store.open(&id, &at_(4)).await.unwrap().changed,
        "already open"
    );

    assert!(
        matches!(
            h.store.snooze(&id, plus(t0(), mins(4)), &at_(5)).await,
            Err(StoreError::Invalid(_))
        ),
        "snoozing into the past"
    );
    let snoozed = h
        .store
        .snooze(&id, plus(t0(), days(1)), &at_(5))
        .await
        .unwrap();
    let c = snoozed.conversation.unwrap();
    assert_eq!(c.status, ConversationStatus::Snoozed);
    assert_eq!(c.snoozed_until, Some(plus(t0(), days(1))));
    let woken = h.store.open(&id, &at_(6)).await.unwrap();
    assert!(woken.changed);
    assert_eq!(
        woken.conversation.unwrap().id,
        conv2.id,
        "open wakes the snoozed one"
    );

    let assigned = h
        .store
        .assign(&id, Some(agent("bob")), &at_(7))
        .await
        .unwrap();
    assert_eq!(assigned.contact.assignee, Some(agent("bob")));
    assert!(
        !h.store
            .assign(&id, Some(agent("bob")), &at_(8))
            .await
            .unwrap()
            .changed
    );
    let unassigned = h.store.assign(&id, None, &at_(9)).await.unwrap();
    assert_eq!(unassigned.contact.assignee, None);

    let blocked = h.store.set_blocked(&id, true, &at_(10)).await.unwrap();
    assert!(blocked.contact.blocked);
    assert!(matches!(
        h.store.close(&id, None, false, &at_(11)).await,
        Err(StoreError::Blocked(_))
    ));
    assert!(matches!(
        h.store.open(&id, &at_(11)).await,
        Err(StoreError::Blocked(_))
    ));
    assert!(matches!(
        h.store.snooze(&id, plus(t0(), days(2)), &at_(11)).await,
        Err(StoreError::Blocked(_))
    ));
    h.store
        .assign(&id, Some(agent("alice")), &at_(12))
        .await
        .expect("assigning a blocked contact is allowed");
    let unblocked = h.store.set_blocked(&id, false, &at_(13)).await.unwrap();
    assert!(!unblocked.contact.blocked);
    assert_eq!(unblocked.contact.updated_at, plus(t0(), mins(13)));
    h.store.close(&id, None, false, &at_(14)).await.unwrap();

    let actions: Vec<&'static str> = h
        .store
        .list_events(&id)
        .await
        .unwrap()
        .iter()
        .map(|e| match &e.action {
            EventAction::Opened { .. } => "opened",
            EventAction::Closed { .. } => "closed",
            EventAction::Snoozed { .. } => "snoozed",
            EventAction::Assigned { .. } => "assigned",
            EventAction::Blocked => "blocked",
            EventAction::Unblocked => "unblocked",
            EventAction::ProfileUpdated => "profile",
        })
        .collect();
    assert_eq!(
        actions,
        [
            "opened",
            "closed",
            "opened",
            "snoozed",
            "opened",
            "assigned",
            "assigned",
            "blocked",
            "assigned",
            "unblocked",
            "closed"
        ]
    );
    let missing = replyline_domain::ContactId::generate(t0());
    assert!(matches!(
        h.store.open(&missing, &at_(1)).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn closing_may_unassign(h: &Harness) {
    let id = contact_on(h, "tg", "71", t0()).await;
    h.store
        .assign(&id, Some(agent("alice")), &ctx("alice", t0()))
        .await
        .unwrap();
    let kept = h
        .store
        .close(&id, None, false, &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    assert_eq!(
        kept.contact.assignee,
        Some(agent("alice")),
        "closing keeps the assignee by default"
    );
    h.store
        .open(&id, &ctx("alice", plus(t0(), mins(2))))
        .await
        .unwrap();
    let dropped = h
        .store
        .close(&id, None, true, &ctx("alice", plus(t0(), mins(3))))
        .await
        .unwrap();
    assert_eq!(dropped.contact.assignee, None);
    let now = plus(t0(), mins(4));
    let unassigned_closed = list(
        h,
        &inbox("alice", InboxView::Unassigned, StatusFilter::Closed, now),
    )
    .await;
    assert_eq!(row_ids(&unassigned_closed), vec![id.clone()]);
    assert_eq!(unassigned_closed.counts.mine, 0);
    let events = h.store.list_events(&id).await.unwrap();
    assert!(matches!(
        events.last().map(|e| &e.action),
        Some(EventAction::Closed {
            unassigned: true,
            ..
        })
    ));
}

pub async fn profile_update_reindexes_search(h: &Harness) {
    let id = contact_on(h, "tg", "72", t0()).await;
    let now = plus(t0(), mins(1));
    let q = |s: &str| searching(inbox("alice", InboxView::All, StatusFilter::All, now), s);
    assert!(list(h, &q("zoe")).await.items.is_empty());
    let out = h
        .store
        .update_profile(
            &id,
            profile(Some("Zoë"), Some("Kravitz"), Some("zoe@example.com"), None),
            &ctx("alice", now),
        )
        .await
        .unwrap();
    assert!(out.changed);
    assert_eq!(out.contact.first_name.unwrap().as_str(), "Zoë");
    assert_eq!(row_ids(&list(h, &q("zoe")).await), vec![id.clone()]);
    assert_eq!(row_ids(&list(h, &q("ravi")).await), vec![id.clone()]);
    assert_eq!(
        row_ids(&list(h, &q("ZOE@example.com")).await),
        vec![id.clone()]
    );
    // Renaming removes the old tokens.
    h.store
        .update_profile(
            &id,
            profile(Some("Ana"), None, None, None),
            &ctx("alice", now),
        )
        .await
        .unwrap();
    assert!(list(h, &q("zoe")).await.items.is_empty());
    assert_eq!(row_ids(&list(h, &q("ana")).await), vec![id.clone()]);
    assert_eq!(
        row_ids(&list(h, &q("ravi")).await),
        vec![id.clone()],
        "fields not given are kept"
    );
    let unchanged = h
        .store
        .update_profile(&id, ProfileFields::default(), &ctx("alice", now))
        .await
        .unwrap();
    assert!(!unchanged.changed);
}

// ---------------------------------------------------------------------------------------
// Injected failures: nothing half-written.
// ---------------------------------------------------------------------------------------

pub async fn injected_failure_at_inbound_commit_leaves_nothing(h: &Harness) {
    let rec = message_from(
        "tg",
        "80",
        "u-fail",
        profile(Some("Faulty"), None, None, None),
        t0(),
    );
    h.faults.fail_next(FaultPoint::InboundCommit);
    assert!(matches!(
        h.store.record_inbound(&rec).await,
        Err(StoreError::Unavailable(_))
    ));
    let now = plus(t0(), mins(1));
    let page = list(h, &inbox("alice", InboxView::All, StatusFilter::All, now)).await;
    assert!(page.items.is_empty(), "no contact, no inbox row");
    assert_eq!(page.counts.all, 0);
    assert!(list(
        h,
        &searching(
            inbox("alice", InboxView::All, StatusFilter::All, now),
            "faulty"
        )
    )
    .await
    .items
    .is_empty());
    // The provider retries: recorded exactly once.
    let out = record(h, &rec).await;
    assert!(!out.duplicate);
    assert!(out.contact_created);
    let again = record(h, &rec).await;
    assert!(again.duplicate);
    let t = h
        .store
        .list_messages(&out.contact_id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 1);
}

pub async fn injected_failure_between_inbound_steps_heals_on_redelivery(h: &Harness) {
    let id = contact_on(h, "fb", "psid-heal", t0()).await;
    let later = plus(t0(), hours(3));
    let rec = message("fb", "psid-heal", "m-heal", "second", later);
    h.faults.fail_next(FaultPoint::InboundWindowUpdate);
    assert!(
        h.store.record_inbound(&rec).await.is_err(),
        "the provider sees a 5xx"
    );
    // Whatever was written, the redelivery completes it.
    record(h, &rec).await;
    let d = h.store.get_contact(&id, later).await.unwrap();
    assert_eq!(d.channels[0].state.last_inbound_at, Some(later));
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 2, "the message exactly once");
}

pub async fn injected_failure_at_outbound_commit_leaves_nothing(h: &Harness) {
    let id = contact_on(h, "tg", "81", t0()).await;
    h.store
        .close(&id, None, false, &ctx("alice", plus(t0(), mins(1))))
        .await
        .unwrap();
    let now = plus(t0(), days(1));
    let before = h.store.get_contact(&id, now).await.unwrap();
    let events_before = h.store.list_events(&id).await.unwrap();
    let req = with_key(send(&id, "tg", "alice", "reopen", now), "k-fail");
    h.faults.fail_next(FaultPoint::OutboundCommit);
    assert!(matches!(
        h.store.begin_outbound(&req).await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(h.store.get_contact(&id, now).await.unwrap(), before);
    assert_eq!(h.store.list_events(&id).await.unwrap(), events_before);
    assert_eq!(
        h.store
            .list_messages(&id, PageSize::DEFAULT, None)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    // The client retries with the same key: recorded once, not a replay.
    let begun = h.store.begin_outbound(&req).await.unwrap();
    assert!(!begun.replayed);
    assert!(begun.conversation_opened);
}

pub async fn injected_failure_at_command_commit_leaves_nothing(h: &Harness) {
    let id = contact_on(h, "tg", "82", t0()).await;
    h.store
        .assign(&id, Some(agent("alice")), &ctx("alice", t0()))
        .await
        .unwrap();
    let now = plus(t0(), mins(1));
    let before = h.store.get_contact(&id, now).await.unwrap();
    let events_before = h.store.list_events(&id).await.unwrap();
    h.faults.fail_next(FaultPoint::CommandCommit);
    let note = ClosingNote {
        category: Some("resolved".into()),
        summary: None,
    };
    assert!(matches!(
        h.store
            .close(&id, Some(note.clone()), true, &ctx("alice", now))
            .await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(h.store.get_contact(&id, now).await.unwrap(), before);
    assert_eq!(h.store.list_events(&id).await.unwrap(), events_before);
    let page = list(h, &inbox("alice", InboxView::Mine, StatusFilter::Open, now)).await;
    assert_eq!(row_ids(&page), vec![id.clone()]);
    assert_eq!(page.counts.mine, 1);
    h.store
        .close(&id, Some(note), true, &ctx("alice", now))
        .await
        .unwrap();
    let page = list(
        h,
        &inbox("alice", InboxView::Unassigned, StatusFilter::Closed, now),
    )
    .await;
    assert_eq!(row_ids(&page), vec![id]);
}

pub async fn injected_failure_at_completion_keeps_the_message_pending(h: &Harness) {
    let id = contact_on(h, "tg", "83", t0()).await;
    let begun = h
        .store
        .begin_outbound(&send(&id, "tg", "alice", "hi", plus(t0(), mins(1))))
        .await
        .unwrap();
    let key = MessageKey::of(&begun.message);
    let outcome = SendOutcome::Sent {
        provider_message_id: "p-9".into(),
    };
    h.faults.fail_next(FaultPoint::CompleteCommit);
    assert!(h
        .store
        .complete_outbound(&key, &outcome, plus(t0(), mins(1)))
        .await
        .is_err());
    let t = h
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items[0].status, MessageStatus::Pending);
    let m = h
        .store
        .complete_outbound(&key, &outcome, plus(t0(), mins(2)))
        .await
        .unwrap();
    assert!(matches!(m.status, MessageStatus::Sent { .. }));
}
